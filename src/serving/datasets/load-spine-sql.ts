import { entityKeySql } from '../../definitions/index.js';
import { ident, literal } from '../../storage/engine/sql-engine.js';
import type { InputFormat } from '../../ingest/ingest-file.js';
import { parseTimestampOrEpochSql, type EpochUnit } from '../../time/index.js';

/** Columns Sluice adds to a spine; user columns may not start with this prefix. */
export const SPINE_PREFIX = '_sluice_';
export const SPINE_KEY = '_sluice_key';
export const SPINE_T = '_sluice_t';
export const SPINE_ROW = '_sluice_row';

/**
 * The SQL reader of a spine file that keeps its columns exactly as given: CSV columns as text
 * (no type guessing: `007` stays `007`), JSON values as JSON typed them (strings are never
 * re-typed as dates or timestamps), Parquet columns in their types.
 */
export function spineReaderSql(path: string, format: InputFormat): string {
  const p = literal(path);
  if (format === 'csv') return `read_csv(${p}, header = true, all_varchar = true)`;
  // An explicit, impossible format turns DuckDB's date and timestamp detection off.
  if (format === 'jsonl') return `read_json(${p}, format = 'newline_delimited', dateformat = '%d/%m/%Y!', timestampformat = '%d/%m/%Y!')`;
  return `read_parquet(${p})`;
}

/**
 * SQL that reads a spine keeping every row in file order as `_sluice_row`, with `_sluice_key`
 * (the entity key of the join key columns, see `entityKeySql`; null when a part is null) and `_sluice_t` (the timestamp in epoch ms: ISO-8601 text, where text
 * without an offset is UTC, a SQL timestamp, or an integer in `unit` since the epoch).
 */
export function loadSpineSql(reader: string, joinKeys: readonly string[], timestampColumn: string, unit: EpochUnit): string {
  return (
    `SELECT *, ${entityKeySql(joinKeys.map(ident))} AS ${SPINE_KEY}, ` +
    `${parseTimestampOrEpochSql(ident(timestampColumn), unit)} AS ${SPINE_T}, ` +
    `row_number() OVER () AS ${SPINE_ROW} FROM ${reader}`
  );
}
