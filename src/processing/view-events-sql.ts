import type { FeatureView, Source } from '../definitions/index.js';
import { STORAGE_TYPE } from '../ingest/validate-sql.js';
import { ident, literalList } from '../storage/engine/sql-engine.js';
import { eventColumns } from './entity-state.js';

/**
 * The SQL relation of a view's events from committed lake files: `_key` (the join key as text),
 * `_ts` (event time, epoch ms), `_seq` (ingestion order), `_ord` (one sortable key for (ts, seq))
 * and the columns the view's features read, as the values both paths compute with: timestamps
 * as epoch ms, int64 as DOUBLE (exact up to 2^53, the same arithmetic as the online path).
 */
export function viewEventsSql(view: FeatureView, source: Source, files: readonly string[]): string {
  const columns = eventColumns(view).map((column) => {
    const type = source.schema[column];
    const c = ident(column);
    const value = type === 'timestamp' ? `epoch_ms(${c})` : type === 'int64' ? `${c}::DOUBLE` : c;
    return `${value} AS ${c}`;
  });
  const select = [`CAST(${ident(view.joinKey)} AS VARCHAR) AS _key`, '_ts', '_seq', `${ORDER_KEY_SQL} AS _ord`, ...columns].join(', ');
  if (files.length === 0) {
    const empty = eventColumns(view).map((column) => `NULL AS ${ident(column)}`);
    return `SELECT NULL::VARCHAR AS _key, NULL::BIGINT AS _ts, NULL::BIGINT AS _seq, NULL::HUGEINT AS _ord${empty.map((e) => `, ${e}`).join('')} WHERE FALSE`;
  }
  return `SELECT ${select} FROM (SELECT * FROM read_parquet(${literalList(files)}, union_by_name = true) UNION ALL BY NAME SELECT ${Object.entries(source.schema).map(([c, type]) => `NULL::${STORAGE_TYPE[type]} AS ${ident(c)}`).join(', ')} WHERE FALSE) WHERE ${ident(view.joinKey)} IS NOT NULL`;
}

/**
 * One sortable key for "later event": (ts, seq) packed as `ts * 2^40 + seq`. `_seq` stays below
 * 2^40 (a trillion rows per source). A point in time `t` packs to `t * 2^40`: every event with
 * `ts < t` orders strictly below it.
 */
export const ORDER_KEY_SQL = '((_ts::HUGEINT << 40) + _seq)';
export const pointOrderKeySql = (t: string): string => `(${t}::HUGEINT << 40)`;
