import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Source } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { ident, literal, readPath, readPathList } from '../../storage/engine/sql-engine.js';
import { filesForKeys } from '../../storage/lake/entity-buckets.js';
import { testPause } from '../../orchestration/test-pause.js';
import type { StorePurge } from './purge-types.js';

/** The column read_parquet adds with each row's file (reserved prefix: no source column can take it). */
const FILE_COLUMN = '_sluice_file';

export interface LakePurgeOptions {
  readonly reason: string;
  readonly at: number;
  readonly dryRun: boolean;
  /** When the predicate selects rows by entity key: the key columns and keys (text form), so files of other buckets are not read. */
  readonly keys?: { readonly columns: readonly string[]; readonly keys: readonly string[] };
  /** The source's event id column: the removed rows' ids (as text, as the log remembers them) are returned in `eventIds`. */
  readonly eventIdColumn?: string;
  /** The work the purge is part of (an erasure request id): its pending deletions are recorded under it. */
  readonly owner?: string;
}

/** A lake purge's report, with the ids of the removed rows when asked for. */
export type LakePurge = StorePurge & { readonly eventIds?: readonly string[] };

const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

/** The rewritten file's name: the old name (without an earlier rewrite's suffix) and a fresh suffix. */
function rewrittenName(file: string): string {
  return `${basename(file, '.parquet').replace(/-r[0-9a-f]{8}$/, '')}-r${randomUUID().slice(0, 8)}`;
}

/**
 * Removes the rows `predicate` selects from every lake file of `source` that any snapshot lists
 * (old snapshots too), physically. One DuckDB scan over all the files finds the affected ones
 * (by the file column); each is rewritten without the rows and published under a new name (a
 * file left with no row is dropped, not rewritten); then ONE metadata transaction swaps the
 * files in every snapshot that lists them (`PurgeStore.rewriteSnapshotFiles`) and records the
 * old files as pending deletions, and only then are the old files deleted and their entries
 * cleared. A crash before the swap leaves the new files unreferenced (`sluice gc` removes them);
 * a crash after it leaves the old ones, which still hold the removed rows, as pending deletions
 * that the next purge of the source (or `sluice gc`) finishes first (`finishPendingDeletions`).
 * Either way every snapshot lists whole files. Files of other snapshots are not read twice, nor
 * rewritten when unaffected; with `options.keys`, files of other entity-key buckets are not read at all.
 */
export async function purgeLake(ctx: SluiceContext, source: Source, predicate: string, options: LakePurgeOptions): Promise<LakePurge> {
  const store = `lake:${source.name}`;
  const snapshots = await ctx.metadata.listSnapshots({ source: source.name, limit: Number.MAX_SAFE_INTEGER });
  const listed = [...new Set(snapshots.flatMap((s) => s.files))].filter((f) => existsSync(ctx.lake.resolve(f)));
  const engine = await ctx.engine();
  // A file of a batch split by entity-key hash holds only its bucket's keys: the others need no scan.
  const files = options.keys === undefined ? listed : filesForKeys(listed, options.keys.columns, options.keys.keys);
  if (files.length === 0) return { store, rows: 0, bytes: 0, filesRewritten: [] };
  const byPath = new Map(files.map((f) => [ctx.lake.resolve(f), f]));
  const hits = await engine.all<{ path: string; n: number }>(
    `SELECT ${FILE_COLUMN} AS path, count(*)::BIGINT AS n FROM read_parquet(${readPathList([...byPath.keys()])}, filename = ${literal(FILE_COLUMN)}, union_by_name = true) WHERE ${predicate} GROUP BY 1 ORDER BY 1`,
  );
  const affected = hits.map((h) => ({ file: byPath.get(h.path)!, path: h.path, removed: Number(h.n) })).filter((h) => h.file !== undefined && h.removed > 0);
  const eventIds = options.eventIdColumn === undefined || affected.length === 0 ? {} : {
    eventIds: (await engine.all<{ id: string }>(`SELECT DISTINCT CAST(${ident(options.eventIdColumn)} AS VARCHAR) AS id FROM read_parquet(${readPathList(affected.map((h) => h.path))}, union_by_name = true) WHERE ${predicate} AND ${ident(options.eventIdColumn)} IS NOT NULL`)).map((r) => r.id),
  };
  const rows = affected.reduce((n, h) => n + h.removed, 0);
  const filesRewritten = affected.map((h) => h.file);
  if (affected.length === 0) return { store, rows: 0, bytes: 0, filesRewritten: [] };
  if (options.dryRun) {
    let bytes = 0;
    for (const h of affected) {
      const [total] = await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM read_parquet(${readPath(h.path)})`);
      bytes += Math.round((sizeOf(h.path) * h.removed) / Math.max(1, Number(total!.n)));
    }
    return { store, rows, bytes, filesRewritten, ...eventIds };
  }

  const replaced: Record<string, string | null> = {};
  const removedRows: Record<string, number> = {};
  const published: string[] = [];
  let bytes = 0;
  let swapped = false;
  try {
    for (const h of affected) {
      removedRows[h.file] = h.removed;
      const [total] = await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM read_parquet(${readPath(h.path)})`);
      const before = sizeOf(h.path);
      if (Number(total!.n) <= h.removed) {
        replaced[h.file] = null;
        bytes += before;
        continue;
      }
      const staged = ctx.lake.stagingPath(source.name);
      try {
        await engine.run(`COPY (SELECT * FROM read_parquet(${readPath(h.path)}) WHERE NOT (${predicate})) TO ${literal(staged)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
        const after = sizeOf(staged);
        const file = await ctx.lake.publish(source.name, staged, rewrittenName(h.file));
        published.push(file);
        replaced[h.file] = file;
        bytes += before - after;
      } finally {
        await ctx.lake.discard(staged);
      }
    }
    await testPause('purge.lake-published');
    const records = await ctx.metadata.purge.rewriteSnapshotFiles({ source: source.name, replaced, removedRows, reason: options.reason, at: options.at, ...(options.owner === undefined ? {} : { owner: options.owner }) });
    swapped = true;
    await testPause('purge.lake-swapped');
    // Only now may the old files go: the swap recorded those no snapshot lists as pending deletions.
    const pending = new Set(Object.keys(replaced));
    const recorded = (await ctx.metadata.purge.pendingDeletions({ sources: [source.name] })).filter((p) => pending.has(p.file)).map((p) => p.file);
    for (const old of recorded) await ctx.lake.remove(old);
    await ctx.metadata.purge.clearPendingDeletions(recorded);
    return { store, rows, bytes, filesRewritten, snapshots: records.map((r) => r.snapshotId), ...eventIds };
  } catch (error) {
    if (!swapped) for (const file of published) await ctx.lake.remove(file);
    throw error;
  }
}
