import { closeSync, openSync, readSync } from 'node:fs';
import { ValidationError } from '../../errors.js';
import { describeHeader, headerNamesColumns } from '../../ingest/describe-header.js';
import { quotedFields } from '../../ingest/read-records.js';
import { ident, type SqlEngine } from '../../storage/engine/sql-engine.js';

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

/** How much of a CSV spine is read to find its header line. */
const HEADER_BYTES = 1 << 20;

/**
 * The names a CSV spine's first line gives, as written but trimmed (a repeated one kept: DuckDB
 * would rename it), read as RFC 4180 (a quoted field may hold a comma); empty for other formats.
 * Read here, not by DuckDB's sniffer, which takes a later row for the header when a row has an
 * extra field (it guesses rows to skip).
 */
export function spineHeaderNames(path: string, format: string): string[] {
  if (format !== 'csv') return [];
  const head = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(path, 'r');
  let read: number;
  try {
    read = readSync(fd, head, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const text = head.subarray(0, read).toString('utf8').replace(/^\uFEFF/, '');
  let quoted = false;
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (!quoted && (text[i] === '\n' || text[i] === '\r')) {
      end = i;
      break;
    }
  }
  const record = text.slice(0, end);
  return (record.includes('"') ? (quotedFields(record) ?? record.split(',')) : record.split(',')).map((n) => n.trim());
}

/**
 * Refuses a CSV spine whose first line names none of the columns a build needs (`expected`): it
 * is described by its field count, never its fields, which may be a data row (`describeHeader`).
 */
export function checkSpineFirstLine(path: string, names: readonly string[], expected: readonly string[]): void {
  if (names.length > 0 && !headerNamesColumns(names, expected)) throw new ValidationError('VALIDATION_FAILED', `spine ${path}: ${describeHeader(names, expected)}`, { details: { fields: names.length } });
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
 * per row, the column and why, never the value (`row 2: "ts" is not a timestamp (...)`,
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
    // The value is never quoted (it may be classified, and the message reaches run history): the column, the row and why.
    const problems = cells.flatMap((c, i) => (row[`ok${i}`] ? [] : [row[`v${i}`] === null || row[`v${i}`] === '' ? `"${c.column}" has no value` : `"${c.column}" is ${c.not}`]));
    return `row ${row._r}: ${problems.join(', ')}`;
  });
  return new ValidationError('VALIDATION_FAILED', `spine ${path}: ${n} row(s) lack a valid key or timestamp: ${described.join('; ')}${n > rows.length ? `; and ${n - rows.length} more` : ''}`);
}
