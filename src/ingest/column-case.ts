import { literal, literalList } from '../storage/engine/sql-engine.js';

/**
 * The one rule for an input name that differs from a schema column only in case (`Amount` for
 * `amount`), for every input format: an input names a column by its exact name. A name that
 * matches a column only in another case is never read as that column (it would give a silent
 * null): where the column's exact name is absent, the input is refused, naming both names. Beside
 * the exact name it is an extra name, ignored like any other. A CSV header is refused as a whole
 * (its names hold for every record); a JSON object, whose keys are its own, is refused alone.
 */

/** The names among `names` that equal `column` only up to case (column names are ASCII: see `checkColumnName`). */
export function casedOnly(names: readonly string[], column: string): readonly string[] {
  return names.filter((n) => n !== column && n.toLowerCase() === column.toLowerCase());
}

/**
 * Why a JSON object (`raw`; `values` NULL when it is no readable object, else `values[i]` the
 * text of `columns[i]`, null when the key is absent or null) is refused for a key that differs from a column only in case, or NULL.
 * Listing the keys parses the text again, so it is done only where such a key can be: a
 * column's value is null, and its name is in the text in some case or the text has an escape (a
 * key may be spelled with one).
 *
 * @example
 * casedKeySql(['amount'], '_raw', '_v') // `column "amount": key "Amount" differs only in case: ...` for {"Amount": 5}
 */
export function casedKeySql(columns: readonly string[], raw: string, values: string): string {
  if (columns.length === 0) return 'NULL';
  const maybe = columns.map((c, i) => `(${values}[${i + 1}] IS NULL AND regexp_matches(${raw}, ${literal(`(?i)"${c}"`)}))`);
  const keys = `json_keys(${raw})`;
  const lowered = literalList(columns.map((c) => c.toLowerCase()));
  const column = (k: string): string => `${literalList(columns)}[list_position(${lowered}, lower(${k}))]`;
  const cased = `list_filter(${keys}, k -> NOT list_contains(${literalList(columns)}, k) AND list_contains(${lowered}, lower(k)) AND NOT list_contains(${keys}, ${column('k')}))`;
  const reason = `list_transform(${cased}, k -> 'column "' || ${column('k')} || '": key "' || k || ${literal('" differs only in case: JSON keys must match the schema exactly')})[1]`;
  // Such a key leaves its column null: an object with every column's value reads no further.
  const someNull = columns.map((_c, i) => `${values}[${i + 1}] IS NULL`).join(' OR ');
  return `CASE WHEN ${values} IS NOT NULL AND (${someNull}) AND (contains(${raw}, '\\') OR ${maybe.join(' OR ')}) THEN ${reason} END`;
}
