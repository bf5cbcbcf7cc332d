import type { Project, Source } from '../definitions/index.js';
import type { SluiceContext } from '../context.js';
import { literal, readPath, type SqlEngine } from '../storage/engine/sql-engine.js';
import { BUCKET_COLUMN, bucketColumns, bucketCount, bucketSql, bucketTag } from '../storage/lake/entity-buckets.js';
import { typedColumnsSql, type KnownAt } from './validate-sql.js';

/** The table of checked rows the commit step reads: valid rows have `_reason = ''`, in `_n` order. */
const CHECKED_TABLE = 'ingest_checked';

/**
 * Writes the valid rows of `ingest_checked` as one staged (unpublished) Parquet file with the
 * lake's columns. Their `_seq` values come from a range reserved in the metadata store first, so
 * they never depend on which of several concurrent ingests commits first. `knownAt` says when
 * Sluice knew the rows (default: their event time). The caller publishes or discards it.
 */
export async function stageLakeFile(ctx: SluiceContext, source: Source, rows: number, knownAt: KnownAt = { mode: 'event' }): Promise<{ staged: string; firstSeq: number }> {
  const engine = await ctx.engine();
  const firstSeq = await ctx.metadata.reserveSeq(source.name, rows);
  const staged = ctx.lake.stagingPath(source.name);
  try {
    await engine.run(
      `COPY (SELECT ${typedColumnsSql(source, firstSeq, knownAt)} FROM ${CHECKED_TABLE} WHERE _reason = '' ORDER BY _n) TO ${literal(staged)} (FORMAT PARQUET, COMPRESSION ZSTD)`,
    );
    return { staged, firstSeq };
  } catch (error) {
    await ctx.lake.discard(staged);
    throw error;
  }
}

/** Writes the valid rows of `ingest_checked` as one published lake file (see {@link stageLakeFile}); returns the lake-relative file. */
export async function writeLakeFile(ctx: SluiceContext, source: Source, rows: number, contentHash: string, knownAt: KnownAt = { mode: 'event' }): Promise<string> {
  const { staged, firstSeq } = await stageLakeFile(ctx, source, rows, knownAt);
  try {
    return await ctx.lake.publish(source.name, staged, `seq${firstSeq}-${contentHash.slice(0, 12)}`);
  } finally {
    await ctx.lake.discard(staged);
  }
}

/**
 * Publishes a staged batch of `rows` rows as the lake files of one commit, named `name` (with a
 * bucket suffix when split; `engine` is the one the caller holds): one file when the batch is small or the source carries no entity key,
 * else one file per bucket of the entity key's hash (`entity-buckets.ts`), each in `_seq` order,
 * so a purge by key rewrites only one file of the batch. The staged file is consumed either way.
 *
 * @example
 * const files = await publishLakeFiles(ctx, engine, project, source, staged, accepted, 'seq0-1a2b3c4d5e6f'); // then commitIngest({ addedFiles: files, ... })
 */
export async function publishLakeFiles(ctx: SluiceContext, engine: SqlEngine, project: Project, source: Source, staged: string, rows: number, name: string): Promise<string[]> {
  const columns = bucketColumns(project, source);
  const n = bucketCount(rows);
  if (columns === undefined || n <= 1) return [await ctx.lake.publish(source.name, staged, name)];
  const table = 'ingest_buckets';
  const published: string[] = [];
  try {
    await engine.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT *, ${bucketSql(columns, n)} AS ${BUCKET_COLUMN} FROM read_parquet(${readPath(staged)})`);
    const buckets = await engine.all<{ b: number }>(`SELECT DISTINCT ${BUCKET_COLUMN} AS b FROM ${table} ORDER BY 1`);
    for (const { b } of buckets) {
      const path = ctx.lake.stagingPath(source.name);
      try {
        await engine.run(`COPY (SELECT * EXCLUDE (${BUCKET_COLUMN}) FROM ${table} WHERE ${BUCKET_COLUMN} = ${Number(b)} ORDER BY _seq) TO ${literal(path)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
        published.push(await ctx.lake.publish(source.name, path, `${name}-${bucketTag(columns, Number(b), n)}`));
      } finally {
        await ctx.lake.discard(path);
      }
    }
    return published;
  } catch (error) {
    for (const file of published) await ctx.lake.remove(file);
    throw error;
  } finally {
    await engine.run(`DROP TABLE IF EXISTS ${table}`);
    await ctx.lake.discard(staged);
  }
}

/**
 * Commits, and removes the published files again unless a snapshot now lists them: when the
 * commit fails, or finds the same content already committed (then nothing is committed).
 */
export async function commitOrRemove<T extends { committed: boolean }>(ctx: SluiceContext, published: string | readonly string[] | undefined, commit: () => Promise<T>): Promise<T> {
  let outcome: T | undefined;
  try {
    outcome = await commit();
    return outcome;
  } finally {
    if (published !== undefined && outcome?.committed !== true) for (const file of typeof published === 'string' ? [published] : published) await ctx.lake.remove(file);
  }
}
