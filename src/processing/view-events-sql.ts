import { entityKeySql, type Source } from '../definitions/index.js';
import { KNOWN_AT_COLUMN, storageType } from '../ingest/validate-sql.js';
import { ident, readPathList } from '../storage/engine/sql-engine.js';
import type { ViewPlan } from './feature-plan.js';
import { viewRowsSql } from './row-transforms.js';

/**
 * The value columns of a plan's events as the engine hands them to an event buffer, in buffer
 * order: `_v<i>` as DOUBLE (timestamps in epoch ms, booleans 1/0) or VARCHAR, and for int64
 * `_v<i>` (the nearest double) then `_v<i>_lo` (the exact rest), so int64 stays exact.
 */
export function bufferColumnNames(plan: ViewPlan): string[] {
  return plan.columnKinds.flatMap((kind, i) => (kind === 'int64' ? [`_v${i}`, `_v${i}_lo`] : [`_v${i}`]));
}

function valueColumnsSql(plan: ViewPlan): string[] {
  return plan.columns.flatMap((column, i) => {
    const c = ident(column);
    switch (plan.view.columnTypes[column]) {
      case 'timestamp':
        return [`epoch_ms(${c})::DOUBLE AS _v${i}`];
      case 'bool':
        return [`${c}::INTEGER::DOUBLE AS _v${i}`];
      case 'int64':
        return [`${c}::DOUBLE AS _v${i}`, `(${c}::HUGEINT - ${c}::DOUBLE::HUGEINT)::DOUBLE AS _v${i}_lo`];
      case 'string':
        return [`${c} AS _v${i}`];
      default:
        // Vectors and lists as stored (FLOAT[], DOUBLE[], BIGINT[], VARCHAR[]).
        return [plan.columnKinds[i] === 'list' ? `${c} AS _v${i}` : `${c}::DOUBLE AS _v${i}`];
    }
  });
}

/**
 * The SQL relation of a view's events from committed lake files: `_key` (the entity key, see `entityKeySql`),
 * `_ts` (event time, epoch ms), `_seq` (ingestion order), `_known_at` (when Sluice first knew
 * the event, epoch ms) and the value columns of {@link bufferColumnNames}. Files written before
 * a column was added read it as NULL; files written before `_known_at` existed read it as `_ts`
 * (their events count as known when they happened). `extra` names a table with lake columns to
 * read besides the files (events still in the durable log). The view's row transforms apply
 * (`viewRowsSql`): its filter drops rows, its derived columns are value columns like any other.
 * "Later" is `(_ts, _seq)` order everywhere.
 */
export function viewEventsSql(plan: ViewPlan, source: Source, files: readonly string[], extra?: string): string {
  const values = valueColumnsSql(plan);
  if (files.length === 0 && extra === undefined) {
    const empty = plan.columnKinds.flatMap((kind, i) =>
      kind === 'text' ? [`NULL::VARCHAR AS _v${i}`] : kind === 'list' ? [`NULL::${storageType(source.schema[plan.columns[i]!]!)} AS _v${i}`] : kind === 'int64' ? [`NULL::DOUBLE AS _v${i}`, `NULL::DOUBLE AS _v${i}_lo`] : [`NULL::DOUBLE AS _v${i}`],
    );
    return `SELECT NULL::VARCHAR AS _key, NULL::BIGINT AS _ts, NULL::BIGINT AS _seq, NULL::BIGINT AS ${KNOWN_AT_COLUMN}${empty.map((e) => `, ${e}`).join('')} WHERE FALSE`;
  }
  const keys = plan.view.joinKeys.map(ident);
  const select = [`${entityKeySql(keys)} AS _key`, '_ts', '_seq', `coalesce(${KNOWN_AT_COLUMN}, _ts) AS ${KNOWN_AT_COLUMN}`, ...values].join(', ');
  // Typed NULL columns for the whole schema (and `_known_at`): a column added after some (or
  // all) files were written reads as NULL from them.
  const schema = [...Object.entries(source.schema).map(([c, type]) => `NULL::${storageType(type)} AS ${ident(c)}`), `NULL::BIGINT AS ${KNOWN_AT_COLUMN}`].join(', ');
  const lake = files.length === 0 ? '' : `SELECT * FROM read_parquet(${readPathList(files)}, union_by_name = true) UNION ALL BY NAME `;
  const more = extra === undefined ? '' : ` UNION ALL BY NAME SELECT * FROM ${extra}`;
  const rows = viewRowsSql(plan.view, `${lake}SELECT ${schema} WHERE FALSE${more}`);
  return `SELECT ${select} FROM (${rows}) WHERE ${keys.map((k) => `${k} IS NOT NULL`).join(' AND ')}`;
}
