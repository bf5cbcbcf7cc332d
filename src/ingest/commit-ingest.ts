import type { Project, Source } from '../definitions/index.js';
import type { SluiceContext } from '../context.js';
import { literal, readPath, readPathList, type SqlEngine } from '../storage/engine/sql-engine.js';
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
 * What a re-run of one input replaces (`IngestCommit.replaces`): the files of the source's
 * latest snapshot that earlier ingests of the same content, or (`file`, see `fileIdentity`) of the
 * same input file whatever its bytes were then, added, and the rows they hold now (counted in
 * the files, so rows a purge removed since are not counted).
 *
 * @example
 * const replaces = await rowsToReplace(ctx, engine, 'payments', contentHash, 'data/payments/2026-01-01.csv'); // { files: [...], rows: 2 }
 */
export async function rowsToReplace(ctx: SluiceContext, engine: SqlEngine, source: string, contentHash: string, file?: string): Promise<{ files: string[]; rows: number }> {
  const files = await ctx.metadata.ingestedContent(source, contentHash, file);
  if (files.length === 0) return { files, rows: 0 };
  const [{ n }] = (await engine.all<{ n: number }>(`SELECT count(*)::DOUBLE AS n FROM read_parquet(${readPathList(files.map((f) => ctx.lake.resolve(f)))})`)) as [{ n: number }];
  return { files, rows: Number(n) };
}

/**
 * A batch's valid rows staged for the lake, not yet published: what the source's checks read
 * (`relation`), what a quarantine holds (`heldFile`), what a commit publishes (`publish`). The
 * caller calls `discard` in the end, whatever happened.
 */
export interface StagedBatch {
  readonly firstSeq: number;
  readonly rows: number;
  /** A FROM item of the staged rows, with the lake's columns (and possibly others). */
  readonly relation: string;
  /** One staged Parquet file of every row in `_seq` order, for the caller to move (quarantine). */
  heldFile(): Promise<string>;
  /** Publishes the rows as the lake files of one commit named `name` (see {@link publishLakeFiles}); returns them. */
  publish(name: string): Promise<string[]>;
  /** Removes what is staged and was neither published nor moved away (no error if gone). */
  discard(): Promise<void>;
}

/** The staged rows of a batch split by entity-key bucket: the typed lake rows with their bucket, in bucket and `_seq` order. */
const STAGED_TABLE = 'ingest_staged';

/**
 * Stages the valid rows of `ingest_checked` (see {@link stageLakeFile}) in one pass. A batch that
 * is published as one file (small, or no entity key) is that staged file. A batch split by
 * entity-key bucket (`entity-buckets.ts`) is typed and bucketed once into a temporary table, in
 * bucket and `_seq` order, which the checks read and from which each bucket's file is written:
 * the batch is written as Parquet once, not staged whole and then read back and written again
 * per bucket.
 *
 * @example
 * const staged = await stageLakeBatch(ctx, engine, project, source, accepted);
 * try { files = await staged.publish('seq0-1a2b3c4d5e6f'); } finally { await staged.discard(); }
 */
export async function stageLakeBatch(ctx: SluiceContext, engine: SqlEngine, project: Project, source: Source, rows: number, knownAt: KnownAt = { mode: 'event' }): Promise<StagedBatch> {
  const columns = bucketColumns(project, source);
  const n = bucketCount(rows);
  if (columns === undefined || n <= 1) {
    const { staged, firstSeq } = await stageLakeFile(ctx, source, rows, knownAt);
    return {
      firstSeq, rows, relation: `read_parquet(${readPath(staged)})`,
      heldFile: async () => staged,
      publish: async (name) => [await ctx.lake.publish(source.name, staged, name)],
      discard: () => ctx.lake.discard(staged),
    };
  }
  const firstSeq = await ctx.metadata.reserveSeq(source.name, rows);
  await createBucketTable(engine, STAGED_TABLE, `(SELECT ${typedColumnsSql(source, firstSeq, knownAt)} FROM ${CHECKED_TABLE} WHERE _reason = '')`, columns, n);
  const held: string[] = [];
  return {
    firstSeq, rows, relation: STAGED_TABLE,
    async heldFile() {
      const path = ctx.lake.stagingPath(source.name);
      held.push(path);
      await engine.run(`COPY (SELECT * EXCLUDE (${BUCKET_COLUMN}) FROM ${STAGED_TABLE} ORDER BY _seq) TO ${literal(path)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
      return path;
    },
    publish: (name) => publishBuckets(ctx, engine, source, STAGED_TABLE, columns, n, name),
    async discard() {
      await engine.run(`DROP TABLE IF EXISTS ${STAGED_TABLE}`);
      for (const path of held) await ctx.lake.discard(path);
    },
  };
}

/**
 * Publishes a staged batch of `rows` rows as the lake files of one commit, named `name` (with a
 * bucket suffix when split; `engine` is the one the caller holds): one file when the batch is small or the source carries no entity key,
 * else one file per bucket of the entity key's hash (`entity-buckets.ts`), each in `_seq` order,
 * so a purge by key rewrites only one file of the batch. The staged file (in `_seq` order) is consumed either way.
 *
 * @example
 * const files = await publishLakeFiles(ctx, engine, project, source, staged, accepted, 'seq0-1a2b3c4d5e6f'); // then commitIngest({ addedFiles: files, ... })
 */
export async function publishLakeFiles(ctx: SluiceContext, engine: SqlEngine, project: Project, source: Source, staged: string, rows: number, name: string): Promise<string[]> {
  const columns = bucketColumns(project, source);
  const n = bucketCount(rows);
  if (columns === undefined || n <= 1) return [await ctx.lake.publish(source.name, staged, name)];
  const table = 'ingest_buckets';
  try {
    await createBucketTable(engine, table, `read_parquet(${readPath(staged)})`, columns, n);
    return await publishBuckets(ctx, engine, source, table, columns, n, name);
  } finally {
    await engine.run(`DROP TABLE IF EXISTS ${table}`);
    await ctx.lake.discard(staged);
  }
}

/** Creates temporary `table` holding the lake rows of `relation` with their {@link BUCKET_COLUMN}, in bucket and `_seq` order (what {@link publishBuckets} reads). */
async function createBucketTable(engine: SqlEngine, table: string, relation: string, columns: readonly string[], n: number): Promise<void> {
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT *, ${bucketSql(columns, n)} AS ${BUCKET_COLUMN} FROM ${relation} ORDER BY ${BUCKET_COLUMN}, _seq`);
}

/**
 * Writes and publishes one file per bucket present in `table` (lake rows plus
 * {@link BUCKET_COLUMN}, inserted in bucket and `_seq` order), named `<name>-<bucket tag>`. A
 * scan filtered by bucket keeps the table's order (DuckDB preserves insertion order through a
 * filter and a COPY), so each file is in `_seq` order without a sort of its own, and it reads
 * only the row groups that hold its bucket. On failure the files published so far are removed.
 */
async function publishBuckets(ctx: SluiceContext, engine: SqlEngine, source: Source, table: string, columns: readonly string[], n: number, name: string): Promise<string[]> {
  const published: string[] = [];
  try {
    const buckets = await engine.all<{ b: number }>(`SELECT DISTINCT ${BUCKET_COLUMN} AS b FROM ${table} ORDER BY 1`);
    for (const { b } of buckets) {
      const path = ctx.lake.stagingPath(source.name);
      try {
        await engine.run(`COPY (SELECT * EXCLUDE (${BUCKET_COLUMN}) FROM ${table} WHERE ${BUCKET_COLUMN} = ${Number(b)}) TO ${literal(path)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
        published.push(await ctx.lake.publish(source.name, path, `${name}-${bucketTag(columns, Number(b), n)}`));
      } finally {
        await ctx.lake.discard(path);
      }
    }
    return published;
  } catch (error) {
    for (const file of published) await ctx.lake.remove(file);
    throw error;
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
