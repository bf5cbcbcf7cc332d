import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import type { DeadLetter, MetadataStore } from '../../src/storage/metadata/metadata-store.js';
import type { CheckOutcome } from '../../src/storage/metadata/quality-store.js';

const letter = (raw: string, createdAt: number): DeadLetter => ({ source: 's', file: 'f.csv', line: 1, raw, reason: 'bad', createdAt });

/** The semantics every PurgeStore keeps (see `purge-store.ts`). */
export function runPurgeStoreContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body)();

  test(`${name}: a rewrite swaps a file in every snapshot listing it, lowers their row counts and records each snapshot's rewrite`, () =>
    run(async (_h, store) => {
      const one = (await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 3, contentHash: 'h1' }, [])).snapshot;
      const two = (await store.commitIngest({ source: 's', addedFiles: ['b'], addedRows: 2, contentHash: 'h2' }, [])).snapshot;
      const three = (await store.commitIngest({ source: 's', addedFiles: ['c'], addedRows: 4, contentHash: 'h3' }, [])).snapshot;
      await store.commitIngest({ source: 'other', addedFiles: ['a'], addedRows: 3, contentHash: 'h1' }, []);
      const records = await store.purge.rewriteSnapshotFiles({ source: 's', replaced: { a: 'a2', b: null }, removedRows: { a: 1, b: 2 }, reason: 'retention', at: 50 });
      expect(records.map((r) => [r.snapshotId, r.rowsBefore, r.rowsAfter, r.filesAfter])).toEqual([[one.id, 3, 2, ['a2']], [two.id, 5, 2, ['a2']], [three.id, 9, 6, ['a2', 'c']]]);
      expect(await store.snapshot(three.id)).toMatchObject({ id: three.id, version: 3, files: ['a2', 'c'], rowCount: 6, contentHash: 'h3' });
      expect((await store.findIngest('s', 'h1'))?.id).toBe(one.id);
      expect((await store.latestSnapshot('other'))?.files).toEqual(['a']);
      expect(await store.purge.snapshotRewrites({ snapshotId: one.id })).toEqual([{ snapshotId: one.id, source: 's', reason: 'retention', at: 50, rowsBefore: 3, rowsAfter: 2, filesBefore: ['a'], filesAfter: ['a2'] }]);
      expect((await store.purge.snapshotRewrites({ source: 's' })).length).toBe(3);
      expect(await store.referencedFiles()).toEqual(new Set(['a', 'a2', 'c']));
    }));

  test(`${name}: a rewrite of a file no snapshot lists any more changes nothing and is a conflict`, () =>
    run(async (_h, store) => {
      await store.commitIngest({ source: 's', addedFiles: ['a', 'b'], addedRows: 3, contentHash: 'h1' }, []);
      await store.purge.rewriteSnapshotFiles({ source: 's', replaced: { a: 'a2' }, removedRows: { a: 1 }, reason: 'erasure', at: 1 });
      await expect(store.purge.rewriteSnapshotFiles({ source: 's', replaced: { b: 'b2', a: 'a3' }, removedRows: {}, reason: 'erasure', at: 2 })).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await store.latestSnapshot('s'))?.files).toEqual(['a2', 'b']);
      expect((await store.purge.snapshotRewrites({ source: 's' })).length).toBe(1);
    }));

  test(`${name}: dead letters are purged by age or by mention of every part of a key, with their bytes; a dry run keeps them`, () =>
    run(async (_h, store) => {
      await store.addDeadLetters([letter('c42,x', 10), letter('{"u":"u1","m":"m9"}', 100), letter('{"u":"u1"}', 100), letter('c7,y', 100)]);
      await store.addDeadLetters([{ ...letter('c42,z', 1), source: 'other' }]);
      expect(await store.purge.purgeDeadLetters('s', { before: 50 }, true)).toEqual({ rows: 1, bytes: 8 });
      expect(await store.countDeadLetters('s')).toBe(4);
      expect(await store.purge.purgeDeadLetters('s', { before: 50, containing: [['u1', 'm9']] })).toEqual({ rows: 2, bytes: 8 + 22 });
      expect((await store.listDeadLetters({ source: 's' })).map((d) => d.raw)).toEqual(['{"u":"u1"}', 'c7,y']);
      expect(await store.purge.purgeDeadLetters('s', { containing: [['c7']] })).toEqual({ rows: 1, bytes: 7 });
      expect(await store.countDeadLetters('other')).toBe(1);
    }));

  test(`${name}: a dead letter whose JSON writes a key part with escapes ("c\\u0037") is purged by that key; other subjects' stay (governance pass)`, () =>
    run(async (_h, store) => {
      const escaped = '{"customer_id":"c\\u0037","ts":"x"}';
      const composite = '{"u":"u\\u0031","m":"\\u006d9"}';
      const exponent = '{"n":1e2}';
      await store.addDeadLetters([letter(escaped, 100), letter('{"customer_id":"c8"}', 100), letter(composite, 100), letter('{"u":"u1","m":"m8"}', 100), letter(exponent, 100)]);
      expect(await store.purge.purgeDeadLetters('s', { containing: [['100']] }, true)).toEqual({ rows: 1, bytes: exponent.length + 'bad'.length });
      expect(await store.purge.purgeDeadLetters('s', { containing: [['c7'], ['u1', 'm9']] }, true)).toEqual({ rows: 2, bytes: escaped.length + composite.length + 2 * 'bad'.length });
      expect(await store.purge.purgeDeadLetters('s', { containing: [['c7'], ['u1', 'm9']] })).toEqual({ rows: 2, bytes: escaped.length + composite.length + 2 * 'bad'.length });
      expect((await store.listDeadLetters({ source: 's' })).map((d) => d.raw).sort()).toEqual(['{"customer_id":"c8"}', '{"n":1e2}', '{"u":"u1","m":"m8"}']);
    }));

  test(`${name}: a dead letter that does not parse and writes a key JSON-escaped (a quote, a backslash) is purged by that key, as rawMentions matches it (review rev-a)`, () =>
    run(async (_h, store) => {
      const quote = `{"customer_id":${JSON.stringify('a"b')},"ts":`;
      const backslash = `{"customer_id":${JSON.stringify('a\\b')},"ts":`;
      await store.addDeadLetters([letter(quote, 100), letter(backslash, 100), letter('{"customer_id":"ab","ts":', 100)]);
      expect(await store.purge.purgeDeadLetters('s', { containing: [['a"b'], ['a\\b']] })).toEqual({ rows: 2, bytes: quote.length + backslash.length + 2 * 'bad'.length });
      expect((await store.listDeadLetters({ source: 's' })).map((d) => d.raw)).toEqual(['{"customer_id":"ab","ts":']);
    }));

  test(`${name}: a dead letter is purged by a key it holds as a whole value, not by one inside a date, a hash or a longer key (review rev11 finding 4)`, () =>
    run(async (_h, store) => {
      const others = ['c1,2024-01-01T00:00:00Z,5', 'c3,2024-02-02T00:00:00Z,2.5', '{"erased":"45e4f8dec264a1"}', '{"customer_id":"c22","ts":"2024-01-01"}'];
      const own = ['c2,2024-01-01T00:00:00Z,5', '{"customer_id":"c2","ts":"2024-01-01"}'];
      await store.addDeadLetters([...others, ...own].map((raw) => letter(raw, 100)));
      expect(await store.purge.purgeDeadLetters('s', { containing: [['2']] })).toEqual({ rows: 0, bytes: 0 });
      expect(await store.purge.purgeDeadLetters('s', { containing: [['c2']] })).toEqual({ rows: 2, bytes: own.reduce((n, r) => n + r.length + 'bad'.length, 0) });
      expect((await store.listDeadLetters({ source: 's' })).map((d) => d.raw).sort()).toEqual([...others].sort());
    }));

  test(`${name}: check samples are purged by a key they hold as a whole value only (review rev11 finding 4)`, () =>
    run(async (_h, store) => {
      const outcome = (samples: string[]): CheckOutcome => ({ dataset: 's', check: 'amount_not_null', kind: 'notNull', severity: 'error', passed: false, failingRows: samples.length, totalRows: 9, observedFraction: 0.5, samples, message: 'm' });
      await store.quality.recordResults([outcome(['{"customer_id":"c1","ts":"2024-01-01"}', '{"customer_id":"c2","ts":"2024-01-01"}'])], { evaluatedAt: 1 });
      expect(await store.purge.purgeCheckSamples('s', [['2']])).toMatchObject({ rows: 0 });
      expect(await store.purge.purgeCheckSamples('s', [['c2']])).toMatchObject({ rows: 1 });
      expect((await store.quality.latestResults())[0]?.samples).toEqual(['{"customer_id":"c1","ts":"2024-01-01"}']);
    }));

  test(`${name}: check samples naming a key leave check results and quarantined batches' results; other samples and datasets stay`, () =>
    run(async (_h, store) => {
      const outcome = (dataset: string, samples: string[]): CheckOutcome => ({ dataset, check: 'amount_not_null', kind: 'notNull', severity: 'error', passed: false, failingRows: samples.length, totalRows: 9, observedFraction: 0.5, samples, message: 'm' });
      const named = '{"customer_id":"c42","amount":null}';
      await store.quality.recordResults([outcome('s', [named, '{"customer_id":"c7","amount":null}']), outcome('other', [named])], { evaluatedAt: 1 });
      const held = await store.quality.hold({ dataset: 's', origin: 'f.csv', file: 'quarantine/s/x.parquet', rows: 2, contentHash: 'h', runId: null, results: [outcome('s', [named])], createdAt: 1 });
      expect(await store.purge.purgeCheckSamples('s', [['c42']], true)).toEqual({ rows: 2, bytes: 2 * named.length, batches: [held.id] });
      expect((await store.quality.quarantined(held.id))?.results[0]?.samples).toEqual([named]);
      expect(await store.purge.purgeCheckSamples('s', [['c42']])).toEqual({ rows: 2, bytes: 2 * named.length, batches: [held.id] });
      expect((await store.quality.quarantined(held.id))?.results[0]?.samples).toEqual([]);
      expect(Object.fromEntries((await store.quality.latestResults()).map((r) => [r.dataset, r.samples]))).toEqual({ s: ['{"customer_id":"c7","amount":null}'], other: [named] });
    }));

  test(`${name}: expiring snapshots deletes those created before the time, never the latest, and lists them`, () =>
    run(async (_h, store) => {
      const one = (await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 1, contentHash: 'h1', createdAt: 10 }, [])).snapshot;
      const two = (await store.commitIngest({ source: 's', addedFiles: ['b'], addedRows: 1, contentHash: 'h2', createdAt: 20 }, [])).snapshot;
      expect((await store.purge.expireSnapshots('s', 100, true)).map((s) => s.id)).toEqual([one.id]);
      expect(await store.snapshot(one.id)).toEqual(one);
      expect((await store.purge.expireSnapshots('s', 100)).map((s) => s.id)).toEqual([one.id]);
      expect(await store.snapshot(one.id)).toBeUndefined();
      expect((await store.latestSnapshot('s'))?.id).toBe(two.id);
      expect(await store.purge.expireSnapshots('s', 100)).toEqual([]);
      expect(await store.purge.expireSnapshots('none', 100)).toEqual([]);
    }));

  test(`${name}: a rewrite records the files it swapped out of every snapshot as pending deletions, in its transaction, until cleared`, () =>
    run(async (_h, store) => {
      await store.commitIngest({ source: 's', addedFiles: ['a', 'b', 'c'], addedRows: 6, contentHash: 'h1' }, []);
      await store.commitIngest({ source: 'other', addedFiles: ['c'], addedRows: 2, contentHash: 'h2' }, []);
      expect(await store.purge.pendingDeletions()).toEqual([]);
      await store.purge.rewriteSnapshotFiles({ source: 's', replaced: { a: 'a2', b: null, c: 'c2' }, removedRows: { a: 1, b: 2, c: 1 }, reason: 'erasure', at: 7, owner: 'erase-1' });
      // `c` is still listed by another source's snapshot: it must stay.
      expect(await store.purge.pendingDeletions()).toEqual([
        { file: 'a', source: 's', reason: 'erasure', owner: 'erase-1', at: 7 },
        { file: 'b', source: 's', reason: 'erasure', owner: 'erase-1', at: 7 },
      ]);
      expect((await store.purge.pendingDeletions({ owner: 'erase-2' })).length).toBe(0);
      expect((await store.purge.pendingDeletions({ sources: ['other'] })).length).toBe(0);
      expect((await store.purge.pendingDeletions({ sources: ['s'], owner: 'erase-1' })).map((p) => p.file)).toEqual(['a', 'b']);
      await expect(store.purge.rewriteSnapshotFiles({ source: 's', replaced: { a: 'a3' }, removedRows: {}, reason: 'erasure', at: 8 })).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await store.purge.pendingDeletions()).length).toBe(2);
      await store.purge.clearPendingDeletions(['a', 'missing']);
      expect((await store.purge.pendingDeletions()).map((p) => p.file)).toEqual(['b']);
      await store.purge.clearPendingDeletions(['b']);
      expect(await store.purge.pendingDeletions()).toEqual([]);
    }));

  test(`${name}: expiring snapshots records the files no remaining snapshot lists as pending deletions; a dry run records none`, () =>
    run(async (_h, store) => {
      await store.commitTransform({ source: 't', files: ['old'], rows: 1, contentHash: 'h1', lineage: { transformHash: 'x', mode: 'full', inputs: {} }, createdAt: 10 });
      await store.commitTransform({ source: 't', files: ['new'], rows: 1, contentHash: 'h2', lineage: { transformHash: 'x', mode: 'full', inputs: {} }, createdAt: 20 });
      await store.purge.expireSnapshots('t', 100, true);
      expect(await store.purge.pendingDeletions()).toEqual([]);
      await store.purge.expireSnapshots('t', 100);
      expect((await store.purge.pendingDeletions()).map((p) => [p.file, p.source, p.reason, p.owner])).toEqual([['old', 't', 'retention', null]]);
    }));

  test(`${name}: an erasure request is not completed while pending deletions it owns remain`, () =>
    run(async (_h, store) => {
      const { request } = await store.erasure.request({ entity: 'customer', subject: 'hash1', requestedBy: 'cli:ops', receivedAt: 1, deadlineAt: 2 });
      await store.commitIngest({ source: 's', addedFiles: ['a'], addedRows: 1, contentHash: 'h1' }, []);
      await store.purge.rewriteSnapshotFiles({ source: 's', replaced: { a: null }, removedRows: { a: 1 }, reason: 'erasure', at: 3, owner: request.id });
      await expect(store.erasure.finish(request.id, { status: 'completed', at: 4, certificate: {} })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('run `sluice erase` again') });
      expect((await store.erasure.get(request.id))?.status).toBe('pending');
      await store.erasure.finish(request.id, { status: 'failed', at: 4, error: 'x' });
      await store.purge.clearPendingDeletions(['a']);
      // Its online step is not done yet either (a run killed after its swap).
      await expect(store.erasure.finish(request.id, { status: 'completed', at: 5, certificate: {} })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('not rebuilt') });
      await store.purge.clearUnfinishedPurges(['s']);
      await store.erasure.finish(request.id, { status: 'completed', at: 5, certificate: {} });
      expect((await store.erasure.get(request.id))?.status).toBe('completed');
    }));

  test(`${name}: a rewrite records its source as an unfinished purge in its transaction, adding its removed rows, until cleared`, () =>
    run(async (_h, store) => {
      await store.commitIngest({ source: 's', addedFiles: ['a', 'b'], addedRows: 6, contentHash: 'h1' }, []);
      await store.commitIngest({ source: 'other', addedFiles: ['c'], addedRows: 2, contentHash: 'h2' }, []);
      expect(await store.purge.unfinishedPurges()).toEqual([]);
      await store.purge.rewriteSnapshotFiles({ source: 's', replaced: { a: 'a2' }, removedRows: { a: 1 }, reason: 'erasure', at: 7, owner: 'erase-1' });
      await store.purge.rewriteSnapshotFiles({ source: 's', replaced: { b: null }, removedRows: { b: 3 }, reason: 'erasure', at: 8, owner: 'erase-1' });
      await store.purge.rewriteSnapshotFiles({ source: 'other', replaced: { c: 'c2' }, removedRows: { c: 1 }, reason: 'retention', at: 9 });
      expect(await store.purge.unfinishedPurges()).toEqual([
        { source: 's', owner: 'erase-1', reason: 'erasure', at: 8, rows: 4, stores: [], step: null },
        { source: 'other', owner: null, reason: 'retention', at: 9, rows: 1, stores: [], step: null },
      ]);
      // A refused rewrite records nothing.
      await expect(store.purge.rewriteSnapshotFiles({ source: 'other', replaced: { c: 'c3' }, removedRows: { c: 1 }, reason: 'erasure', at: 10 })).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await store.purge.unfinishedPurges({ sources: ['other'] })).map((u) => u.rows)).toEqual([1]);
      expect((await store.purge.unfinishedPurges({ owner: 'erase-1' })).map((u) => u.source)).toEqual(['s']);
      // Progress replaces the record's stores and step, keeps its lake rows; a purge with no swap gets a record of 0 rows.
      await store.purge.recordPurgeProgress({ source: 's', owner: 'erase-1', reason: 'erasure', at: 11, step: 'online', stores: [{ store: 'dead-letters:s', rows: 2, bytes: 30 }] });
      await store.purge.recordPurgeProgress({ source: 'third', owner: null, reason: 'retention', at: 12, step: 'dead-letter', stores: [] });
      expect((await store.purge.unfinishedPurges({ sources: ['s', 'third'] })).map(({ source, rows, stores, step }) => ({ source, rows, stores, step }))).toEqual([
        { source: 's', rows: 4, stores: [{ store: 'dead-letters:s', rows: 2, bytes: 30 }], step: 'online' },
        { source: 'third', rows: 0, stores: [], step: 'dead-letter' },
      ]);
      await store.purge.clearUnfinishedPurges(['s', 'third', 'missing']);
      expect((await store.purge.unfinishedPurges()).map((u) => u.source)).toEqual(['other']);
    }));
}
