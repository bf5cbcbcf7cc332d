import { ident, literal } from '../../storage/engine/sql-engine.js';
import type { InputFormat } from '../../ingest/ingest-file.js';
import { parseTimestampSql } from '../../time/index.js';

/**
 * SQL that reads a spine file (CSV, JSONL or Parquet) keeping every row in file order as
 * `_row`, with `_key` (the join key as text) and `_t` (the timestamp column in epoch ms; ISO
 * text without an offset is UTC). The join key and timestamp are read as text from CSV so that
 * type detection cannot change them (`007` stays `007`).
 */
export function loadSpineSql(path: string, format: InputFormat, joinKey: string, timestampColumn: string): string {
  const p = literal(path);
  const reader =
    format === 'csv'
      ? `read_csv(${p}, header = true, types = {${literal(joinKey)}: 'VARCHAR', ${literal(timestampColumn)}: 'VARCHAR'})`
      : format === 'jsonl'
        ? `read_json(${p}, format = 'newline_delimited')`
        : `read_parquet(${p})`;
  const ts = ident(timestampColumn);
  return (
    `SELECT *, CAST(${ident(joinKey)} AS VARCHAR) AS _key, ` +
    `CASE WHEN typeof(${ts}) IN ('BIGINT', 'INTEGER', 'HUGEINT', 'UBIGINT') THEN TRY_CAST(${ts} AS BIGINT) ` +
    `ELSE ${parseTimestampSql(ts)} END AS _t, ` +
    `row_number() OVER () AS _row FROM ${reader}`
  );
}
