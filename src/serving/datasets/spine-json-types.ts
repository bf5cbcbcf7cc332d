import { ValidationError } from '../../errors.js';
import { ident, type SqlEngine } from '../../storage/engine/sql-engine.js';

/** The type DuckDB's JSON reader gives a JSONL column whose values are of mixed JSON types (a number in one row, a string in another). */
const MIXED = 'JSON';

/**
 * A spine cell as text when its column is of mixed JSON types: a JSON string without its quotes,
 * another value its JSON text (`1`, `true`), JSON null as NULL; other columns as they are. A CSV
 * spine reads every cell as this text, so both formats give the same value.
 *
 * @example
 * spineTextSql('s."label"', 'JSON'); // json_extract_string(s."label", '$')
 */
export function spineTextSql(column: string, sqlType: string): string {
  return sqlType === MIXED ? `json_extract_string(${column}, '$')` : column;
}

const KIND: Readonly<Record<string, string>> = { VARCHAR: 'a string', BIGINT: 'a number', UBIGINT: 'a number', DOUBLE: 'a number', BOOLEAN: 'a boolean', OBJECT: 'an object', ARRAY: 'an array' };

/**
 * Refuses a join key column of mixed JSON types (`{"customer_id":1}` then `{"customer_id":"c1"}`):
 * which entity a number or a string names is a guess, and reading the JSON text would key the
 * string with its quotes. The message names the column and the first row of each type.
 */
export async function checkSpineKeyTypes(engine: SqlEngine, path: string, reader: string, keys: readonly { readonly column: string; readonly sqlType: string }[]): Promise<void> {
  for (const { column, sqlType } of keys) {
    if (sqlType !== MIXED) continue;
    const c = ident(column);
    const found = await engine.all<{ t: string; r: number }>(
      `SELECT json_type(${c}) AS t, min(_r)::INTEGER AS r FROM (SELECT ${c}, row_number() OVER () AS _r FROM ${reader}) WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY 2`,
    );
    const first = new Map<string, number>();
    for (const { t, r } of found) if (!first.has(KIND[t] ?? t)) first.set(KIND[t] ?? t, r);
    const seen = [...first].map(([kind, row]) => `${kind} in row ${row}`).join(', ');
    throw new ValidationError('VALIDATION_FAILED', `spine ${path}: key column "${column}" ${first.size > 1 ? 'mixes JSON types' : 'holds JSON values of no one type'} (${seen}); give every key as one type (a JSON string for a string key)`);
  }
}
