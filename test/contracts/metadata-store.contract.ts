import { expect, test, vi } from 'vitest';
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

  test(`${name}: closing a store twice is harmless (node:sqlite threw "database is not open" on Node 24)`, run(async (h) => {
    const other = await h.open();
    await other.close();
    await expect(other.close()).resolves.toBeUndefined();
  }));

  test(`${name}: snapshotDataTime is the commit time of the newest snapshot up to a version that added rows; commits that added none do not move it`, run(async (_h, store) => {
    expect(await store.snapshotDataTime('s', 1)).toBeUndefined();
    const empty = (await store.commitIngest({ source: 's', addedFiles: [], addedRows: 0, contentHash: 'h0', createdAt: 5 }, [])).snapshot;
    expect(await store.snapshotDataTime('s', empty.version)).toBeUndefined();
    const rows = (await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 2, contentHash: 'h1', createdAt: 10 }, [])).snapshot;
    const later = (await store.commitIngest({ source: 's', addedFiles: [], addedRows: 0, contentHash: 'h2', createdAt: 20 }, [])).snapshot;
    expect(await store.snapshotDataTime('s', later.version)).toBe(10);
    expect(await store.snapshotDataTime('s', rows.version)).toBe(10);
    expect(await store.snapshotDataTime('s', empty.version)).toBeUndefined();
    expect(await store.snapshotDataTime('other', later.version)).toBeUndefined();
  }));

  test(`${name}: registry versions count up and keep the project`, run(async (_h, store) => {
    expect(await store.latestRegistry()).toBeUndefined();
    expect((await store.recordRegistry(project)).version).toBe(1);
    expect((await store.recordRegistry(project)).version).toBe(2);
    const latest = await store.latestRegistry();
    expect(latest?.version).toBe(2);
    expect(latest?.project).toEqual(project);
    expect((await store.registryVersions()).map((r) => r.version)).toEqual([2, 1]);
  }));

  test(`${name}: an ingest commits its snapshot and dead letters together, appending to the latest snapshot`, run(async (_h, store) => {
    const first = await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 3, contentHash: 'h1' }, [letter(2), letter(5)]);
    expect(first).toMatchObject({ committed: true, snapshot: { version: 1, parentId: null, files: ['a'], rowCount: 3 } });
    const second = await store.commitIngest({ source: 's', addedFiles: ['b'], addedRows: 2, contentHash: 'h2' }, []);
    expect(second.snapshot).toMatchObject({ version: 2, parentId: first.snapshot.id, files: ['a', 'b'], rowCount: 5, addedRows: 2 });
    expect((await store.latestSnapshot('s'))?.id).toBe(second.snapshot.id);
    expect(await store.snapshot(first.snapshot.id)).toEqual(first.snapshot);
    expect(await store.snapshot('nope')).toBeUndefined();
    expect((await store.listSnapshots({ source: 's' })).map((x) => x.version)).toEqual([2, 1]);
    expect(await store.referencedFiles()).toEqual(new Set(['a', 'b']));
    expect((await store.findIngest('s', 'h1'))?.id).toBe(first.snapshot.id);
    expect(await store.findIngest('s', 'zzz')).toBeUndefined();
    expect(await store.countDeadLetters('s')).toBe(2);
    expect(await store.countDeadLetters('other')).toBe(0);
  }));

  test(`${name}: a transform's snapshot replaces the files (full) or appends to them (incremental), with its lineage`, run(async (_h, store) => {
    const lineage = (mode: 'full' | 'incremental', input: string) => ({ transformHash: 'th', mode, inputs: { s: input, empty: null } });
    const first = await store.commitTransform({ source: 't', files: ['t/a'], rows: 3, contentHash: 'x1', lineage: lineage('full', 's@1') });
    expect(first).toMatchObject({ version: 1, parentId: null, files: ['t/a'], rowCount: 3, addedRows: 3 });
    const full = await store.commitTransform({ source: 't', files: ['t/b'], rows: 2, contentHash: 'x2', lineage: lineage('full', 's@2') });
    expect(full).toMatchObject({ version: 2, parentId: first.id, files: ['t/b'], rowCount: 2, addedRows: 2 });
    const appended = await store.commitTransform({ source: 't', files: ['t/c'], rows: 1, contentHash: 'x3', lineage: lineage('incremental', 's@3') });
    expect(appended).toMatchObject({ version: 3, parentId: full.id, files: ['t/b', 't/c'], rowCount: 3, addedRows: 1 });
    const empty = await store.commitTransform({ source: 't', files: [], rows: 0, contentHash: 'x4', lineage: lineage('full', 's@4') });
    expect(empty).toMatchObject({ version: 4, files: [], rowCount: 0 });
    expect(await store.snapshot(appended.id)).toEqual(appended);
    expect(await store.snapshotLineage(full.id)).toEqual(lineage('full', 's@2'));
    expect(await store.snapshotLineage(appended.id)).toEqual(lineage('incremental', 's@3'));
    expect(await store.referencedFiles()).toEqual(new Set(['t/a', 't/b', 't/c']));
    const ingested = await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 1, contentHash: 'h' }, []);
    expect(await store.snapshotLineage(ingested.snapshot.id)).toBeUndefined();
  }));

  test(`${name}: the same content is committed once, in the commit transaction, unless forced`, run(async (h, store) => {
    const other = await h.open();
    try {
      const [a, b] = await Promise.all([
        store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 3, contentHash: 'same' }, [letter(1)]),
        other.commitIngest({ source: 's', addedFiles: ['b'], addedRows: 3, contentHash: 'same' }, [letter(1)]),
      ]);
      expect([a.committed, b.committed].sort()).toEqual([false, true]);
      expect(a.snapshot.id).toBe(b.snapshot.id);
      expect(await store.latestSnapshot('s')).toMatchObject({ version: 1, rowCount: 3 });
      expect(await store.countDeadLetters('s')).toBe(1);
      const forced = await store.commitIngest({ source: 's', addedFiles: ['c'], addedRows: 3, contentHash: 'same', force: true }, []);
      expect(forced).toMatchObject({ committed: true, snapshot: { version: 2, rowCount: 6 } });
    } finally {
      await other.close();
    }
  }));

  test(`${name}: a re-run replaces the files the ingests of its content added (a forced double too), in the commit; files that changed meanwhile refuse it`, run(async (_h, store) => {
    await store.commitIngest({ source: 's', addedFiles: ['a1', 'a2'], addedRows: 3, contentHash: 'h' }, []);
    await store.commitIngest({ source: 's', addedFiles: ['b'], addedRows: 2, contentHash: 'other' }, []);
    await store.commitIngest({ source: 's', addedFiles: ['c'], addedRows: 3, contentHash: 'h', force: true }, []);
    expect(await store.ingestedContent('s', 'h')).toEqual(['a1', 'a2', 'c']);
    expect(await store.ingestedContent('s', 'none')).toEqual([]);
    const rerun = await store.commitIngest({ source: 's', addedFiles: ['d'], addedRows: 4, contentHash: 'h', replaces: { files: ['a1', 'a2', 'c'], rows: 6 } }, []);
    expect(rerun).toMatchObject({ committed: true, snapshot: { version: 4, files: ['b', 'd'], rowCount: 6, addedRows: 4 } });
    expect(await store.ingestedContent('s', 'h')).toEqual(['d']);
    // What it read before is no longer what the content's ingests hold: nothing is committed.
    await expect(store.commitIngest({ source: 's', addedFiles: ['e'], addedRows: 4, contentHash: 'h', replaces: { files: ['c'], rows: 3 } }, [])).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await store.latestSnapshot('s')).toMatchObject({ version: 4, files: ['b', 'd'] });
  }));

  test(`${name}: a re-run of a file replaces the ingests of its path whatever their bytes, and of its bytes under any path`, run(async (_h, store) => {
    await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 2, contentHash: 'old', origin: 'data/d1.csv' }, []);
    await store.commitIngest({ source: 's', addedFiles: ['b'], addedRows: 1, contentHash: 'b', origin: 'data/d2.csv' }, []);
    await store.commitIngest({ source: 's', addedFiles: ['c'], addedRows: 3, contentHash: 'new', origin: 'copy/d1.csv' }, []);
    expect(await store.ingestedContent('s', 'new')).toEqual(['c']);
    expect(await store.ingestedContent('s', 'new', 'data/d1.csv')).toEqual(['a', 'c']);
    const rerun = await store.commitIngest({ source: 's', addedFiles: ['d'], addedRows: 3, contentHash: 'new', origin: 'data/d1.csv', replaces: { files: ['a', 'c'], rows: 5 } }, []);
    expect(rerun).toMatchObject({ committed: true, snapshot: { files: ['b', 'd'], rowCount: 4 } });
    expect(await store.ingestedContent('s', 'other', 'data/d1.csv')).toEqual(['d']);
    // Another re-run of the path replaced them meanwhile: refused.
    await expect(store.commitIngest({ source: 's', addedFiles: ['e'], addedRows: 1, contentHash: 'x', origin: 'data/d1.csv', replaces: { files: ['a'], rows: 2 } }, [])).rejects.toMatchObject({ code: 'CONFLICT' });
  }));

  test(`${name}: an incremental ingest's high-water mark moves with its snapshot, only from the mark it read after`, run(async (h, store) => {
    expect(await store.ingestCursor('s')).toBeUndefined();
    await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 2, contentHash: 'r1', cursor: { from: null, to: 'm1' } }, []);
    expect(await store.ingestCursor('s')).toBe('m1');
    const other = await h.open();
    try {
      const [a, b] = await Promise.allSettled([
        store.commitIngest({ source: 's', addedFiles: ['b'], addedRows: 1, contentHash: 'r2', cursor: { from: 'm1', to: 'm2' } }, [letter(1)]),
        other.commitIngest({ source: 's', addedFiles: ['c'], addedRows: 1, contentHash: 'r3', cursor: { from: 'm1', to: 'm3' } }, [letter(2)]),
      ]);
      expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected']);
      const refused = (a.status === 'rejected' ? a : b) as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: 'CONFLICT' });
      expect(await store.latestSnapshot('s')).toMatchObject({ version: 2, rowCount: 3 });
      expect(await store.countDeadLetters('s')).toBe(1);
      expect(['m2', 'm3']).toContain(await store.ingestCursor('s'));
      await store.commitIngest({ source: 's', addedFiles: ['d'], addedRows: 1, contentHash: 'f' }, []);
      expect(['m2', 'm3']).toContain(await store.ingestCursor('s'));
      expect(await store.ingestCursor('other')).toBeUndefined();
    } finally {
      await other.close();
    }
  }));

  test(`${name}: _seq ranges are disjoint across handles and continue from rows ingested before`, run(async (h, store) => {
    await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 10, contentHash: 'h' }, []);
    const other = await h.open();
    try {
      const firsts = await Promise.all([store.reserveSeq('s', 5), other.reserveSeq('s', 7), store.reserveSeq('s', 1)]);
      const ranges = firsts.map((first, i) => [first, first + [5, 7, 1][i]!] as const).sort((x, y) => x[0] - y[0]);
      expect(ranges[0]![0]).toBe(10);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1]);
      expect(await store.reserveSeq('t', 2)).toBe(0);
    } finally {
      await other.close();
    }
  }));

  test(`${name}: a lease has one holder until released or its holder is gone`, run(async (h, store) => {
    const neverGone = () => false;
    const a = { id: 'a', host: 'h1', pid: 1 };
    const b = { id: 'b', host: 'h2', pid: 2 };
    const other = await h.open();
    try {
      expect(await store.acquireLease('job', a, 60_000, neverGone)).toMatchObject({ acquired: true, lease: { name: 'job', holder: a } });
      expect(await other.acquireLease('job', b, 60_000, neverGone)).toMatchObject({ acquired: false, heldBy: { holder: a } });
      expect((await store.acquireLease('job', a, 60_000, neverGone)).acquired).toBe(true);
      expect(await other.renewLease('job', 'b', 60_000)).toBeUndefined();
      expect((await store.renewLease('job', 'a', 60_000))?.holder).toEqual(a);
      await other.releaseLease('job', 'b');
      expect((await store.listLeases()).map((l) => l.holder.id)).toEqual(['a']);
      // A gone holder is taken over; the old holder then finds its lease lost.
      expect(await other.acquireLease('job', b, 60_000, (l) => l.holder.id === 'a')).toMatchObject({ acquired: true, lease: { holder: b } });
      expect(await store.renewLease('job', 'a', 60_000)).toBeUndefined();
      await store.releaseLease('job', 'a');
      expect((await store.listLeases()).map((l) => l.holder.id)).toEqual(['b']);
      await other.releaseLease('job', 'b');
      expect(await store.listLeases()).toEqual([]);
    } finally {
      await other.close();
    }
  }));

  test(`${name}: a look at a lease says since when the looking clock saw it unchanged; a release with a renewal keeps a lease renewed since`, run(async (h, store) => {
    const a = { id: 'a', host: 'h1', pid: 1 };
    const other = await h.open();
    try {
      expect(await store.sightLease('beat', 'clock-1', 100)).toBeUndefined();
      const taken = await store.acquireLease('beat', a, 60_000, () => false);
      expect(taken.acquired).toBe(true);
      expect(await store.sightLease('beat', 'clock-1', 100)).toMatchObject({ lease: { holder: a }, unchangedSince: 100 });
      // Another reader shares the first look of the same clock; another clock's readings are its own.
      expect((await other.sightLease('beat', 'clock-1', 900))?.unchangedSince).toBe(100);
      expect((await other.sightLease('beat', 'clock-2', 5))?.unchangedSince).toBe(5);
      await new Promise((resolve) => setTimeout(resolve, 3));
      const renewed = (await store.renewLease('beat', 'a', 60_000))!;
      expect((await store.sightLease('beat', 'clock-1', 1_000))?.unchangedSince).toBe(1_000);
      // Released only as it was seen: a renewal since keeps it.
      await other.releaseLease('beat', 'a', renewed.renewedAt - 1);
      expect(await store.listLeases()).toHaveLength(1);
      await other.releaseLease('beat', 'a', renewed.renewedAt);
      expect(await store.listLeases()).toEqual([]);
      // Its sightings went with it: taken again, a look starts anew.
      await store.acquireLease('beat', a, 60_000, () => false);
      expect((await store.sightLease('beat', 'clock-1', 2_000))?.unchangedSince).toBe(2_000);
    } finally {
      await other.close();
    }
  }));

  test(`${name}: runs record success and failure, and release their lease`, run(async (_h, store) => {
    const holder = { id: 'x', host: 'h', pid: 1 };
    const ok = await store.startRun('ingest', { file: 'x' }, { holder, ttlMs: 60_000 });
    const bad = await store.startRun('materialize', {}, { holder, ttlMs: 60_000 });
    expect((await store.listLeases()).map((l) => l.name).sort()).toEqual([`run:${bad.id}`, `run:${ok.id}`].sort());
    await store.finishRun(ok.id, { status: 'succeeded', stats: { rows: 3 } });
    await store.finishRun(bad.id, { status: 'failed', error: 'boom' });
    const runs = await store.listRuns(10);
    expect(runs.find((r) => r.id === ok.id)).toMatchObject({ status: 'succeeded', stats: { rows: 3 }, params: { file: 'x' } });
    expect(runs.find((r) => r.id === bad.id)).toMatchObject({ status: 'failed', error: 'boom' });
    expect(await store.listLeases()).toEqual([]);
  }));

  test(`${name}: run totals sum runs per job, status and source; dead letters are counted per source`, run(async (_h, store) => {
    const holder = { id: 'x', host: 'h', pid: 1 };
    for (const [source, accepted] of [['a', 3], ['a', 4], ['b', 1]] as const) {
      const r = await store.startRun('ingest', { source }, { holder, ttlMs: 60_000 });
      await store.finishRun(r.id, { status: 'succeeded', stats: { accepted, rejected: 1 } });
    }
    const bad = await store.startRun('materialize', { views: ['v'] }, { holder, ttlMs: 60_000 });
    await store.finishRun(bad.id, { status: 'failed', error: 'boom' });
    const totals = await store.runTotals();
    expect(totals.map(({ job, status, source, runs, accepted, rejected }) => ({ job, status, source, runs, accepted, rejected }))).toEqual([
      { job: 'ingest', status: 'succeeded', source: 'a', runs: 2, accepted: 7, rejected: 2 },
      { job: 'ingest', status: 'succeeded', source: 'b', runs: 1, accepted: 1, rejected: 1 },
      { job: 'materialize', status: 'failed', source: null, runs: 1, accepted: 0, rejected: 0 },
    ]);
    await store.addDeadLetters([1, 2].map((line) => ({ source: 's', file: 'f', line, raw: '{}', reason: 'bad', createdAt: 1 })));
    expect(await store.deadLetterCounts()).toEqual({ s: 2 });
  }));

  test(`${name}: a running run whose holder is gone is marked failed`, run(async (_h, store) => {
    const live = await store.startRun('ingest', {}, { holder: { id: 'live', host: 'h', pid: 1 }, ttlMs: 60_000 });
    const dead = await store.startRun('ingest', {}, { holder: { id: 'dead', host: 'h', pid: 2 }, ttlMs: 60_000 });
    const failed = await store.failDeadRuns((l) => l.holder.id === 'dead');
    expect(failed.map((r) => r.id)).toEqual([dead.id]);
    const runs = await store.listRuns(10);
    expect(runs.find((r) => r.id === dead.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^the process running it died; last known alive at /) });
    expect(runs.find((r) => r.id === live.id)).toMatchObject({ status: 'running' });
  }));

  test(`${name}: a dead run's run key ends failed with it, in the same transaction: a scheduled firing is never claimed again, so nothing else would settle it`, run(async (_h, store) => {
    const holder = { id: 'killed', host: 'h', pid: 2 };
    await store.schedules.claim({ key: 'dataset:train@t1', job: 'dataset:train', trigger: 'schedule', holder }, 1_000);
    await store.schedules.claim({ key: 'dataset:train@t0', job: 'dataset:train', trigger: 'schedule', holder }, 500);
    const dead = await store.startRun('dataset:train', { runKey: 'dataset:train@t1' }, { holder, ttlMs: 60_000 });
    await store.schedules.startAttempt('dataset:train@t1', dead.id);
    await store.schedules.startAttempt('dataset:train@t0', dead.id);
    await store.schedules.finish('dataset:train@t0', { status: 'succeeded' }, 900);
    const [failed] = await store.failDeadRuns(() => true);
    expect(await store.schedules.get('dataset:train@t1')).toMatchObject({ status: 'failed', finishedAt: failed!.finishedAt, error: failed!.error });
    // A key already settled is left as it is.
    expect(await store.schedules.get('dataset:train@t0')).toMatchObject({ status: 'succeeded', finishedAt: 900 });
  }));

  test(`${name}: a dead run ends at its lease's last renewal (the last time it was known alive), not when it was noticed`, run(async (_h, store) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const holder = { id: 'killed', host: 'h', pid: 2 };
      vi.setSystemTime(1_000_000);
      const started = await store.startRun('ingest', {}, { holder, ttlMs: 60_000 });
      const never = await store.startRun('materialize', {}, { holder: { ...holder, id: 'never' }, ttlMs: 60_000 });
      vi.setSystemTime(1_020_000);
      expect((await store.renewLease(`run:${started.id}`, 'killed', 60_000))?.renewedAt).toBe(1_020_000);
      // Noticed an hour later.
      vi.setSystemTime(1_020_000 + 3_600_000);
      const failed = await store.failDeadRuns(() => true);
      const byId = new Map(failed.map((r) => [r.id, r]));
      expect(byId.get(started.id)).toMatchObject({ status: 'failed', finishedAt: 1_020_000, error: expect.stringMatching(/^the process running it died; last known alive at 1970-01-01T00:17:00\.000Z/) });
      expect(byId.get(never.id)).toMatchObject({ finishedAt: 1_000_000, error: expect.stringContaining('last known alive at 1970-01-01T00:16:40.000Z') });
      expect((await store.listRuns(10)).find((r) => r.id === started.id)).toMatchObject({ finishedAt: 1_020_000 });
    } finally {
      vi.useRealTimers();
    }
  }));

  test(`${name}: datasets are registered once per file, newest first: another dataset built at a path replaces the record there`, run(async (_h, store) => {
    const record = { id: 'ds_1', path: '/a.parquet', format: 'parquet', spine: 'spine.csv', spineSha256: 'abc', timestampColumn: 'ts', features: ['v__n'], definitions: { v: 'h' }, snapshots: { s: 's@1' }, rowCount: 3, createdAt: 1 };
    await store.recordDataset(record);
    await store.recordDataset({ ...record, createdAt: 2 });
    await store.recordDataset({ ...record, id: 'ds_3', path: '/b.parquet', createdAt: 3 });
    expect(await store.listDatasets(10)).toEqual([{ ...record, id: 'ds_3', path: '/b.parquet', createdAt: 3 }, { ...record, createdAt: 2 }]);
    await store.recordDataset({ ...record, id: 'ds_2', createdAt: 4 });
    expect(await store.listDatasets(10)).toEqual([{ ...record, id: 'ds_2', createdAt: 4 }, { ...record, id: 'ds_3', path: '/b.parquet', createdAt: 3 }]);
  }));

  test(`${name}: a second handle (another process) sees commits`, run(async (h, store) => {
    await store.recordRegistry(project);
    const other = await h.open();
    try {
      expect((await other.latestRegistry())?.version).toBe(1);
      const { snapshot } = await other.commitIngest({ source: 's', addedFiles: [], addedRows: 0, contentHash: 'h' }, []);
      expect((await store.latestSnapshot('s'))?.id).toBe(snapshot.id);
    } finally {
      await other.close();
    }
  }));
}
