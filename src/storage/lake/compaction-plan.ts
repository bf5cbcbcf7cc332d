import { parseBucketTag } from './entity-buckets.js';

/**
 * When and how much of a source's lake a compaction rewrites. A file is small below
 * `smallFileBytes`; a pass rewrites small files only when the latest snapshot lists at least
 * `minFiles` of them, and at most `maxFiles` files and `maxBytes` bytes of them, so one pass is
 * bounded work and a backlog is compacted over several passes.
 */
export interface CompactionPolicy {
  readonly smallFileBytes: number;
  readonly minFiles: number;
  readonly maxFiles: number;
  readonly maxBytes: number;
}

/** The server's policy: a stream's micro-batches are compacted once 32 of them are small. */
export const DEFAULT_COMPACTION_POLICY: CompactionPolicy = {
  smallFileBytes: 32 * 1024 * 1024,
  minFiles: 32,
  maxFiles: 1_000,
  maxBytes: 512 * 1024 * 1024,
};

/** A file of the latest snapshot as the plan sees it. */
export interface CompactionCandidate {
  readonly file: string;
  readonly bytes: number;
  /** The file's Parquet columns and types, as one text: only files of one schema are merged. */
  readonly schema: string;
}

/**
 * The one rule of what a compaction may take: the small files (below `smallFileBytes`) that are
 * not a bucket of a split batch (a bucket file holds one bucket's keys, which a merge with other
 * files would break), in snapshot order; none when fewer than `minFiles` (at least 2) are.
 *
 * @example
 * compactable([{ file: 's/a.parquet', bytes: 10 }, { file: 's/b.parquet', bytes: 20 }], { ...DEFAULT_COMPACTION_POLICY, minFiles: 2 }); // both
 */
export function compactable<F extends { readonly file: string; readonly bytes: number }>(files: readonly F[], policy: CompactionPolicy): F[] {
  const small = files.filter((f) => f.bytes < policy.smallFileBytes && parseBucketTag(f.file) === undefined);
  return small.length < Math.max(2, policy.minFiles) ? [] : small;
}

/**
 * The groups of files one compaction pass merges, each into one batch (written as the lake writes
 * any batch: one file, or one per entity-key bucket when large). Only small files that are not a
 * bucket of a split batch are taken (a bucket file holds one bucket's keys, which a merge with
 * other files would break), in snapshot order, grouped by schema (a source whose schema changed
 * keeps its older files apart); a group of one file is left alone. Empty when the snapshot has
 * fewer than `minFiles` small files.
 *
 * @example
 * compactionGroups(candidates, { ...DEFAULT_COMPACTION_POLICY, minFiles: 2 }); // [['s/a.parquet', 's/b.parquet']]
 */
export function compactionGroups(files: readonly CompactionCandidate[], policy: CompactionPolicy): string[][] {
  const small = compactable(files, policy);
  if (small.length === 0) return [];
  const groups = new Map<string, CompactionCandidate[]>();
  let taken = 0;
  let bytes = 0;
  for (const f of small) {
    if (taken >= policy.maxFiles || (taken > 0 && bytes + f.bytes > policy.maxBytes)) break;
    const group = groups.get(f.schema) ?? groups.set(f.schema, []).get(f.schema)!;
    group.push(f);
    taken += 1;
    bytes += f.bytes;
  }
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.map((f) => f.file));
}
