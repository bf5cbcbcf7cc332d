import { closeSync, openSync, readSync } from 'node:fs';
import { entityKeySql, int64KeyPartSql, type ColumnType } from '../../definitions/index.js';
import { ident, literal, readPath } from '../../storage/engine/sql-engine.js';
import { spineTimestampSql } from './spine-timestamp-sql.js';
import type { InputFormat } from '../../ingest/ingest-file.js';
import type { EpochUnit } from '../../time/index.js';
import { ValidationError } from '../../errors.js';
import { spineHeaderNames } from './spine-columns.js';

/** Columns Sluice adds to a spine; user columns may not start with this prefix. */
export const SPINE_PREFIX = '_sluice_';
export const SPINE_KEY = '_sluice_key';
export const SPINE_T = '_sluice_t';
export const SPINE_ROW = '_sluice_row';

/**
 * The SQL reader of a spine file that keeps its columns exactly as given: CSV columns (named by
 * `header`, its first line) as text
 * (no type guessing: `007` stays `007`), JSON values as JSON typed them (strings are never
 * re-typed as dates or timestamps), Parquet columns in their types.
 */
export function spineReaderSql(path: string, format: InputFormat, header: readonly string[] = spineHeaderNames(path, format)): string {
  const p = readPath(path);
  // The header as read (`spineHeaderNames`), RFC 4180 and no sniffing: DuckDB's sniffer took a later
  // row for the header when a row had an extra field; a row of another width fails naming its line.
  if (format === 'csv') return `read_csv(${p}, auto_detect = false, header = true, delim = ',', quote = '"', escape = '"', columns = {${header.map((n, i) => `${literal(n === '' ? `column${i}` : n)}: 'VARCHAR'`).join(', ')}})`;
  // An explicit, impossible format turns DuckDB's date and timestamp detection off.
  if (format === 'jsonl') return `read_json(${p}, format = 'newline_delimited', dateformat = '%d/%m/%Y!', timestampformat = '%d/%m/%Y!')`;
  return `read_parquet(${p})`;
}

/**
 * Refuses a spine DuckDB cannot read as its format: a JSONL file that starts with a UTF-8 byte
 * order mark (DuckDB's JSON reader refuses one; its CSV reader skips it), checked before reading.
 */
export function checkSpineReadable(path: string, format: InputFormat): void {
  if (format !== 'jsonl') return;
  const head = Buffer.alloc(3);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 3, 0);
  } finally {
    closeSync(fd);
  }
  if (head.equals(Buffer.from([0xef, 0xbb, 0xbf]))) {
    throw new ValidationError('VALIDATION_FAILED', `spine ${path} starts with a UTF-8 byte order mark, which DuckDB's JSON reader refuses: save it without one (a CSV spine may have one)`);
  }
}

/**
 * Runs a statement that reads the spine file: DuckDB reads a sample first (to type the columns)
 * and may meet a malformed record only later, while loading; either way the error names the file
 * (an interrupt passes as it is). A CSV row whose field count is not its header's (`header`) is
 * named by its line, never quoted.
 */
export async function readingSpine<T>(path: string, format: InputFormat, read: () => Promise<T>, header: readonly string[] = []): Promise<T> {
  try {
    return await read();
  } catch (error) {
    // A stopped build (timeout, Ctrl-C) is not a bad file.
    if ((error as Error).message.includes('INTERRUPT Error')) throw error;
    const line = /CSV Error on Line: (\d+)/.exec((error as Error).message)?.[1];
    const width = /Expected Number of Columns: (\d+) Found: (\d+)/.exec((error as Error).message);
    if (format === 'csv' && line !== undefined && width !== null) {
      throw new ValidationError('VALIDATION_FAILED', `spine ${path}: line ${line} has ${width[2]} field${width[2] === '1' ? '' : 's'}, its header ${width[1]} (${header.join(', ')}); give every row one field per header column (quote a field that holds a comma)`, { details: { line: Number(line) }, cause: error });
    }
    throw new ValidationError('VALIDATION_FAILED', `spine ${path} cannot be read (${(error as Error).message.split('\n')[0]!.trim()}); check that it is a valid ${format} file`, { cause: error });
  }
}

/** A join key column of a spine: its type in the source, and the SQL type the spine file gives it. */
export interface SpineKey {
  readonly column: string;
  readonly type: ColumnType;
  readonly sqlType: string;
}

/**
 * SQL that reads a spine keeping every row in file order as `_sluice_row`, with `_sluice_key`
 * (the entity key of the join key columns, see `entityKeySql`, int64 parts in the lake's text
 * form whatever the spine wrote, `007` or `7.0`; null when a part is null or not a key) and `_sluice_t` (the timestamp in epoch ms
 * by the rule of every timestamp cell of a spine, `spineTimestampSql`, of its SQL type `timestampSqlType`: an integer in `unit`
 * since the epoch, a SQL timestamp or date, or ISO-8601 text, where text without an offset is UTC).
 */
export function loadSpineSql(reader: string, joinKeys: readonly SpineKey[], timestampColumn: string, unit: EpochUnit, timestampSqlType: string): string {
  const parts = joinKeys.map(spineKeyPartSql);
  return (
    `SELECT *, ${entityKeySql(parts)} AS ${SPINE_KEY}, ` +
    `${spineTimestampSql(ident(timestampColumn), timestampSqlType, unit)} AS ${SPINE_T}, ` +
    `row_number() OVER () AS ${SPINE_ROW} FROM ${reader}`
  );
}

/** A join key column's part of `_sluice_key` (see `loadSpineSql`): an int64 part in the lake's text form, null when it is not one. */
export function spineKeyPartSql(key: SpineKey): string {
  return key.type === 'int64' ? int64KeyPartSql(ident(key.column), key.sqlType) : ident(key.column);
}
