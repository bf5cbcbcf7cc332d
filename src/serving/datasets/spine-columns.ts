import { ValidationError } from '../../errors.js';
import { ident, readPath, type SqlEngine } from '../../storage/engine/sql-engine.js';

/** What a spine file holds, for messages about a missing or unreadable one. */
export const SPINE_FILE_HINT = 'a header naming the join key(s) and the timestamp column, then one row per training example';

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

/** The names a CSV spine's header gives, as written (DuckDB renames a repeated one: read them with `header = false`); empty for other formats. */
export async function spineHeaderNames(engine: SqlEngine, path: string, format: string): Promise<string[]> {
  if (format !== 'csv') return [];
  const [header] = await engine.all<Record<string, string | null>>(`SELECT * FROM read_csv(${readPath(path)}, header = false, all_varchar = true) LIMIT 1`);
  return Object.values(header ?? {}).map((n) => (n ?? '').trim());
}

/**
 * Refuses a spine whose header (`spineHeaderNames`) names a column twice (compared as DuckDB
 * compares names, case-insensitively): DuckDB would rename the second (`customer_id_1`) and the
 * build would go on with a column the file does not have.
 */
export function checkSpineHeader(path: string, names: readonly string[]): void {
  const at = new Map<string, number>();
  for (const [i, name] of names.entries()) {
    const first = at.get(name.toLowerCase());
    if (first !== undefined) throw new ValidationError('VALIDATION_FAILED', `spine ${path}: its header names the column "${names[first]}" twice (columns ${first + 1} and ${i + 1}); rename or remove one`);
    at.set(name.toLowerCase(), i);
  }
}

/**
 * The error for the rows of table `spine` without a valid key or timestamp (at most 5 named):
 * per row, the column, its value and why (`row 2: "ts" is "2024-13-03", not a timestamp (...)`,
 * `row 3: "customer_id" has no value`). `parts`: each key column and the SQL of its key part
 * (null when the value is not a key, see `spineKeyPartSql`); `keyType`: the key's column type.
 */
export async function badSpineRowsError(engine: SqlEngine, path: string, parts: readonly { readonly column: string; readonly sql: string; readonly type: string }[], timestampColumn: string, names: { readonly row: string; readonly key: string; readonly t: string }): Promise<ValidationError | undefined> {
  const bad = `${names.t} IS NULL OR ${names.key} IS NULL`;
  const [{ n }] = (await engine.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM spine WHERE ${bad}`)) as [{ n: number }];
  if (n === 0) return undefined;
  const cells = [...parts.map((p) => ({ column: p.column, value: `CAST(${ident(p.column)} AS VARCHAR)`, valid: `${p.sql} IS NOT NULL`, not: `not ${p.type === 'int64' ? 'an int64 key (an integer)' : `a ${p.type} key`}` })),
    { column: timestampColumn, value: `CAST(${ident(timestampColumn)} AS VARCHAR)`, valid: `${names.t} IS NOT NULL`, not: 'not a timestamp (ISO-8601, or an integer epoch in --timestamp-unit, default ms)' }];
  const rows = await engine.all<Record<string, string | number | boolean | null>>(
    `SELECT ${names.row}::INTEGER AS _r, ${cells.map((c, i) => `${c.value} AS v${i}, ${c.valid} AS ok${i}`).join(', ')} FROM spine WHERE ${bad} ORDER BY ${names.row} LIMIT 5`,
  );
  const described = rows.map((row) => {
    const problems = cells.flatMap((c, i) => (row[`ok${i}`] ? [] : [row[`v${i}`] === null || row[`v${i}`] === '' ? `"${c.column}" has no value` : `"${c.column}" is ${JSON.stringify(row[`v${i}`])}, ${c.not}`]));
    return `row ${row._r}: ${problems.join(', ')}`;
  });
  return new ValidationError('VALIDATION_FAILED', `spine ${path}: ${n} row(s) lack a valid key or timestamp: ${described.join('; ')}${n > rows.length ? `; and ${n - rows.length} more` : ''}`);
}
