import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import { ConflictError } from '../../src/errors.js';
import type { MetadataStore } from '../../src/storage/metadata/metadata-store.js';

/** The semantics every MetadataStore keeps for `commitCompaction` (see `metadata-store.ts`). */
export function runCompactionContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body);
  const ingest = (store: MetadataStore, file: string, rows: number, at: number) => store.commitIngest({ source: 's', addedFiles: [file], addedRows: rows, contentHash: `h-${file}`, createdAt: at }, []);

  test(`${name}: a compaction commits a snapshot of the same rows with the compacted files in place of the replaced ones; it adds no data`, run(async (_h, store) => {
    await ingest(store, 'a', 2, 10);
    await ingest(store, 'b', 3, 20);
    const before = (await ingest(store, 'c', 4, 30)).snapshot;
    const compacted = await store.commitCompaction({ source: 's', replaced: ['a', 'b'], files: ['ab'], createdAt: 99 });
    expect(compacted).toMatchObject({ version: 4, parentId: before.id, files: ['ab', 'c'], rowCount: 9, addedRows: 0, operation: 'compaction', createdAt: 99 });
    expect(await store.latestSnapshot('s')).toEqual(compacted);
    // Older snapshots keep their files: a dataset pinned to them still reads.
    expect((await store.snapshot(before.id))?.files).toEqual(['a', 'b', 'c']);
    expect(before.operation).toBeUndefined();
    expect(await store.referencedFiles()).toEqual(new Set(['a', 'b', 'c', 'ab']));
    // No new data: the data time stays the newest commit that added rows.
    expect(await store.snapshotDataTime('s', compacted.version)).toBe(30);
  }));

  test(`${name}: a compaction whose replaced file the latest snapshot no longer lists commits nothing (ConflictError); files added meanwhile stay`, run(async (_h, store) => {
    await ingest(store, 'a', 2, 10);
    await ingest(store, 'b', 3, 20);
    await ingest(store, 'late', 1, 25);
    const compacted = await store.commitCompaction({ source: 's', replaced: ['a', 'b'], files: ['ab'] });
    expect(compacted.files).toEqual(['ab', 'late']);
    const latest = await store.latestSnapshot('s');
    await expect(store.commitCompaction({ source: 's', replaced: ['ab', 'a'], files: ['x'] })).rejects.toBeInstanceOf(ConflictError);
    await store.purge.rewriteSnapshotFiles({ source: 's', replaced: { ab: 'ab2' }, removedRows: { ab: 1 }, reason: 'erasure', at: 30 });
    await expect(store.commitCompaction({ source: 's', replaced: ['ab', 'late'], files: ['y'] })).rejects.toBeInstanceOf(ConflictError);
    expect((await store.latestSnapshot('s'))?.version).toBe(latest?.version);
    expect((await store.latestSnapshot('s'))?.files).toEqual(['ab2', 'late']);
  }));

  test(`${name}: the rows of an ingest a compaction merged with others cannot be re-run in place (ConflictError), never added twice`, run(async (_h, store) => {
    await ingest(store, 'a', 2, 10);
    await ingest(store, 'b', 3, 20);
    expect(await store.ingestedContent('s', 'h-a')).toEqual(['a']);
    await store.commitCompaction({ source: 's', replaced: ['a', 'b'], files: ['ab'] });
    await expect(store.ingestedContent('s', 'h-a')).rejects.toBeInstanceOf(ConflictError);
    await ingest(store, 'c', 1, 30);
    expect(await store.ingestedContent('s', 'h-c')).toEqual(['c']);
  }));
}
