import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import type { MetadataStore } from '../../src/storage/metadata/metadata-store.js';
import type { FeatureSkew } from '../../src/storage/metadata/skew-store.js';

const result = (service: string, feature: string, mismatches: number, compared = 10): FeatureSkew => ({
  service, feature, compared, mismatches, mismatchRate: compared === 0 ? 0 : mismatches / compared, onlineNullRate: 0.1, offlineNullRate: 0.1,
  maxAbsDiff: mismatches > 0 ? 2.5 : 0, meanAbsDiff: mismatches > 0 ? 0.25 : 0, skipped: { STALE: 3 },
  examples: mismatches > 0 ? [{ keys: { customer_id: 'c1' }, entityKey: 'c1', asOf: '2026-01-01T00:00:00.000Z', online: '9007199254740993', offline: '9007199254740992' }] : [],
  snapshots: { served: { 'txns=txns@1-ab': compared }, recomputed: { 'txns=txns@1-ab': compared }, latest: { txns: 'txns@2-cd' }, servedBehind: compared },
});

/** The semantics every SkewStore keeps (see `skew-store.ts`). */
export function runSkewStoreContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body);

  test(`${name}: skew results round-trip whole, and the latest per (service, feature) is the newest run's`, run(async (_h, store) => {
    await store.skew.record({ runId: 'r1', at: 100, since: null, until: 100, features: [result('s1', 'v__a', 1), result('s1', 'v__b', 0)] });
    await store.skew.record({ runId: 'r2', at: 200, since: 100, until: 200, features: [result('s1', 'v__a', 0), result('s2', 'v__a', 5)] });
    const latest = await store.skew.latest();
    expect(latest.map((r) => [r.service, r.feature, r.runId, r.mismatches])).toEqual([['s1', 'v__a', 'r2', 0], ['s1', 'v__b', 'r1', 0], ['s2', 'v__a', 'r2', 5]]);
    expect(latest[2]).toEqual({ ...result('s2', 'v__a', 5), runId: 'r2', at: 200 });
  }));

  test(`${name}: recording a run again replaces its results atomically; list filters and is newest first`, run(async (_h, store) => {
    await store.skew.record({ runId: 'r1', at: 100, since: null, until: 100, features: [result('s1', 'v__a', 1), result('s1', 'v__b', 2)] });
    await store.skew.record({ runId: 'r1', at: 100, since: null, until: 100, features: [result('s1', 'v__a', 3)] });
    await store.skew.record({ runId: 'r2', at: 50, since: null, until: 50, features: [result('s1', 'v__a', 4)] });
    expect((await store.skew.list({ limit: 10 })).map((r) => [r.runId, r.feature, r.mismatches])).toEqual([['r1', 'v__a', 3], ['r2', 'v__a', 4]]);
    expect((await store.skew.list({ feature: 'v__b', limit: 10 }))).toEqual([]);
    expect((await store.skew.list({ service: 's1', feature: 'v__a', limit: 1 })).map((r) => r.runId)).toEqual(['r1']);
    expect((await store.skew.latest()).map((r) => [r.feature, r.runId])).toEqual([['v__a', 'r1']]);
  }));

  test(`${name}: skew results written by one handle are read by another (another process)`, run(async (h, store) => {
    await store.skew.record({ runId: 'r1', at: 1, since: null, until: 1, features: [result('s1', 'v__a', 1)] });
    const other = await h.open();
    try {
      expect((await other.skew.latest()).map((r) => r.mismatchRate)).toEqual([0.1]);
    } finally {
      await other.close();
    }
  }));
}
