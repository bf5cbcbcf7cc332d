import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import type { MetadataStore } from '../../src/storage/metadata/metadata-store.js';
import type { CheckOutcome, NewQuarantinedBatch } from '../../src/storage/metadata/quality-store.js';

const outcome = (check: string, passed: boolean, dataset = 'txns'): CheckOutcome => ({
  dataset, check, kind: 'notNull', severity: 'error', passed, failingRows: passed ? 0 : 2, totalRows: 10, observedFraction: passed ? 1 : 0.8, samples: passed ? [] : ['{"amount":null}'], message: `${check}: ${passed ? 'pass' : 'fail'}`,
});
const held = (dataset = 'txns'): NewQuarantinedBatch => ({ dataset, origin: '/data/a.csv', file: `quarantine/${dataset}/1.parquet`, rows: 10, contentHash: 'abc', runId: 'r1', results: [outcome('amount_not_null', false, dataset)], createdAt: 5 });

/** The semantics every QualityStore keeps (see `quality-store.ts`). */
export function runQualityStoreContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body);

  test(`${name}: the latest result per dataset and check, history summed for metrics`, run(async (_h, store) => {
    await store.quality.recordResults([outcome('a', false), outcome('b', true)], { evaluatedAt: 1, runId: 'r1' });
    await store.quality.recordResults([outcome('a', true)], { evaluatedAt: 2, runId: 'r2' });
    await store.quality.recordResults([outcome('a', false, 'other')], { evaluatedAt: 3, quarantineId: 7 });
    expect((await store.quality.latestResults()).map((r) => [r.dataset, r.check, r.passed, r.evaluatedAt, r.runId, r.quarantineId])).toEqual([
      ['other', 'a', false, 3, null, 7], ['txns', 'a', true, 2, 'r2', null], ['txns', 'b', true, 1, 'r1', null],
    ]);
    expect((await store.quality.latestResults({ failed: true })).map((r) => r.dataset)).toEqual(['other']);
    expect((await store.quality.latestResults({ dataset: 'txns' })).map((r) => r.check)).toEqual(['a', 'b']);
    expect((await store.quality.latestResults({ dataset: 'other' }))[0]).toMatchObject({ failingRows: 2, samples: ['{"amount":null}'], kind: 'notNull', severity: 'error' });
    expect(await store.quality.resultTotals()).toEqual([
      { dataset: 'other', check: 'a', outcome: 'failed', count: 1 },
      { dataset: 'txns', check: 'a', outcome: 'failed', count: 1 }, { dataset: 'txns', check: 'a', outcome: 'passed', count: 1 },
      { dataset: 'txns', check: 'b', outcome: 'passed', count: 1 },
    ]);
  }));

  test(`${name}: a held batch is resolved exactly once, with who and when`, run(async (h, store) => {
    const batch = await store.quality.hold(held());
    expect(batch).toMatchObject({ dataset: 'txns', status: 'held', rows: 10, resolvedAt: null, resolvedBy: null, snapshot: null, results: [{ check: 'amount_not_null', passed: false }] });
    const second = await store.quality.hold(held('other'));
    expect((await store.quality.listQuarantine()).map((b) => b.id)).toEqual([second.id, batch.id]);
    expect((await store.quality.listQuarantine({ dataset: 'txns' })).map((b) => b.id)).toEqual([batch.id]);
    const released = await store.quality.resolve(batch.id, { status: 'released', by: 'ana', at: 9, snapshot: 'snap1' });
    expect(released).toMatchObject({ status: 'released', resolvedBy: 'ana', resolvedAt: 9, snapshot: 'snap1' });
    await expect(store.quality.resolve(batch.id, { status: 'dropped', by: 'bo', at: 10 })).rejects.toThrow(`quarantined batch ${batch.id} was already released by ana`);
    // Another handle (another process) sees the same.
    const other = await h.open();
    try {
      expect(await other.quality.quarantined(batch.id)).toMatchObject({ status: 'released', snapshot: 'snap1' });
      expect((await other.quality.listQuarantine({ status: 'held' })).map((b) => b.id)).toEqual([second.id]);
    } finally {
      await other.close();
    }
    await expect(store.quality.resolve(999, { status: 'dropped', by: 'bo', at: 10 })).rejects.toThrow('quarantined batch 999 does not exist');
    expect(await store.quality.quarantined(999)).toBeUndefined();
  }));
}
