import type { Source } from '../definitions/index.js';
import { ident, type SqlEngine, readPathList } from '../storage/engine/sql-engine.js';
import { parsedValueSql } from './validate-sql.js';

/**
 * Removes from `table` (checked input rows: `_n`, `_reason`, text columns) the valid rows whose
 * event id is already in `lakeFiles` (the source's committed files) or repeats an earlier row of
 * the same input, so each event is stored once however often it is exported or ingested.
 * Returns how many rows it removed. Without an `eventId`, removes nothing.
 */
export async function removeDuplicateEvents(engine: SqlEngine, source: Source, table: string, lakeFiles: readonly string[]): Promise<number> {
  if (source.eventId === undefined) return 0;
  const column = ident(source.eventId);
  const id = parsedValueSql(source.eventId, source.schema[source.eventId]!);
  const seen = lakeFiles.length === 0 ? 'FALSE' : `_id IN (SELECT ${column} FROM read_parquet(${readPathList(lakeFiles)}, union_by_name = true))`;
  await engine.run(`CREATE OR REPLACE TEMP TABLE ingest_duplicates AS
    SELECT _n FROM (SELECT _n, _id, row_number() OVER (PARTITION BY _id ORDER BY _n) AS _k FROM (SELECT _n, ${id} AS _id FROM ${table} WHERE _reason = ''))
    WHERE _k > 1 OR ${seen}`);
  const [{ n }] = (await engine.all<{ n: number }>('SELECT count(*)::BIGINT AS n FROM ingest_duplicates')) as [{ n: number }];
  if (n > 0) await engine.run(`DELETE FROM ${table} WHERE _n IN (SELECT _n FROM ingest_duplicates)`);
  await engine.run('DROP TABLE ingest_duplicates');
  return n;
}
