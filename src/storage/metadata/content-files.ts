import type { Snapshot } from './metadata-store.js';

/**
 * Of `latest`, the files that the ingests of one content (`ingests`: the snapshots whose content
 * hash it is, each with its parent) added. A snapshot's own files are its files less its
 * parent's: a purge swaps a rewritten file in every snapshot that lists it, so the difference
 * stays the ingest's files as they are now. An ingest whose files `latest` no longer lists (a
 * re-run replaced them) counts for nothing; one whose parent expired, or one a compaction merged
 * with other rows (a file of it in `compacted`: the files compaction snapshots took out of their
 * parents), cannot be told apart, and gives `undefined` for the caller to report.
 *
 * @example
 * contentFiles([{ snapshot: s2, parent: s1 }], s3); // ['payments/seq3-1a2b3c4d5e6f.parquet']
 */
export function contentFiles(ingests: readonly { readonly snapshot: Snapshot; readonly parent: Snapshot | undefined }[], latest: Snapshot | undefined, compacted: ReadonlySet<string> = new Set()): string[] | undefined {
  const listed = new Set(latest?.files ?? []);
  const files: string[] = [];
  for (const { snapshot, parent } of ingests) {
    if (snapshot.parentId !== null && parent === undefined) return undefined;
    const before = new Set(parent?.files ?? []);
    const own = snapshot.files.filter((f) => !before.has(f));
    if (own.some((f) => compacted.has(f))) return undefined;
    const kept = own.filter((f) => listed.has(f));
    if (kept.length === 0) continue;
    // Every later snapshot descends from this one, so it lists all of an ingest's files or none of them.
    if (kept.length !== own.length) return undefined;
    files.push(...kept);
  }
  return files;
}
