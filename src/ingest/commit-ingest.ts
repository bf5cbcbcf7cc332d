import type { Source } from '../definitions/index.js';
import type { SluiceContext } from '../context.js';
import { literal } from '../storage/engine/sql-engine.js';
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
 * Commits, and removes the published file again unless a snapshot now lists it: when the
 * commit fails, or finds the same content already committed (then nothing is committed).
 */
export async function commitOrRemove<T extends { committed: boolean }>(ctx: SluiceContext, published: string | undefined, commit: () => Promise<T>): Promise<T> {
  let outcome: T | undefined;
  try {
    outcome = await commit();
    return outcome;
  } finally {
    if (published !== undefined && outcome?.committed !== true) await ctx.lake.remove(published);
  }
}
