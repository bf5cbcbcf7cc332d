import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import { compileProject, defineProject, entity, batchSource, featureView, count } from '../../src/definitions/index.js';
import type { DeadLetter, MetadataStore } from '../../src/storage/metadata/metadata-store.js';

export type MetadataStoreHarness = StoreHarness<MetadataStore>;

const e = entity({ name: 'e', joinKey: 'k' });
const s = batchSource({ name: 's', schema: { k: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const project = compileProject(defineProject({ name: 'p', entities: [e], sources: [s], featureViews: [featureView({ name: 'v', entity: e, source: s, features: { n: count() } })] }));
const letter = (line: number): DeadLetter => ({ source: 's', file: 'f.csv', line, raw: `raw ${line}`, reason: 'bad', createdAt: 7 });

/** The semantics every MetadataStore keeps (see `metadata-store.ts`). */
export function runMetadataStoreContract(name: string, harness: () => Promise<MetadataStoreHarness>): void {
  const run = (body: (h: MetadataStoreHarness, store: MetadataStore) => Promise<void>) => withStore(harness, body);

  test(`${name}: registry versions count up and keep the project`, run(async (_h, store) => {
    expect(await store.latestRegistry()).toBeUndefined();
    expect((await store.recordRegistry(project)).version).toBe(1);
    expect((await store.recordRegistry(project)).version).toBe(2);
    const latest = await store.latestRegistry();
    expect(latest?.version).toBe(2);
    expect(latest?.project).toEqual(project);
  }));

  test(`${name}: an ingest commits its snapshot and dead letters together, once`, run(async (_h, store) => {
    const first = await store.commitIngest({ id: 's@1', source: 's', parentId: null, files: ['a'], rowCount: 3, addedRows: 3, contentHash: 'h1' }, [letter(2), letter(5)]);
    expect(first.version).toBe(1);
    const second = await store.commitIngest({ id: 's@2', source: 's', parentId: 's@1', files: ['a', 'b'], rowCount: 5, addedRows: 2, contentHash: 'h2' }, []);
    expect(second).toMatchObject({ version: 2, files: ['a', 'b'], rowCount: 5 });
    expect((await store.latestSnapshot('s'))?.id).toBe('s@2');
    expect((await store.findIngest('s', 'h1'))?.id).toBe('s@1');
    expect(await store.findIngest('s', 'zzz')).toBeUndefined();
    // A writer that started from a stale parent loses, and its dead letters are not stored.
    await expect(store.commitIngest({ id: 's@2b', source: 's', parentId: 's@1', files: ['c'], rowCount: 4, addedRows: 1, contentHash: 'h3' }, [letter(9)])).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await store.listDeadLetters({ source: 's' })).map((d) => d.line)).toEqual([2, 5]);
    expect(await store.countDeadLetters('s')).toBe(2);
    expect(await store.countDeadLetters('other')).toBe(0);
  }));

  test(`${name}: runs record success and failure`, run(async (_h, store) => {
    const ok = await store.startRun('ingest', { file: 'x' });
    const bad = await store.startRun('materialize', {});
    await store.finishRun(ok.id, { status: 'succeeded', stats: { rows: 3 } });
    await store.finishRun(bad.id, { status: 'failed', error: 'boom' });
    const runs = await store.listRuns(10);
    expect(runs.find((r) => r.id === ok.id)).toMatchObject({ status: 'succeeded', stats: { rows: 3 }, params: { file: 'x' } });
    expect(runs.find((r) => r.id === bad.id)).toMatchObject({ status: 'failed', error: 'boom' });
  }));

  test(`${name}: a second handle (another process) sees commits`, run(async (h, store) => {
    await store.recordRegistry(project);
    const other = await h.open();
    try {
      expect((await other.latestRegistry())?.version).toBe(1);
      await other.commitIngest({ id: 's@1', source: 's', parentId: null, files: [], rowCount: 0, addedRows: 0, contentHash: 'h' }, []);
      expect((await store.latestSnapshot('s'))?.id).toBe('s@1');
    } finally {
      await other.close();
    }
  }));
}
