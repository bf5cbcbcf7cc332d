import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import type { DriftResult } from '../../src/storage/metadata/drift-store.js';
import type { MetadataStore } from '../../src/storage/metadata/metadata-store.js';

const result = (feature: string, score: number, computedAt: number, subject = 'dataset:d1'): DriftResult => ({
  subject, feature, metric: 'psi', score, warn: 0.1, error: 0.25, severity: score >= 0.25 ? 'error' : score >= 0.1 ? 'warn' : 'ok',
  referenceCount: 100, currentCount: 40, details: { service: 'fraud_v1' }, computedAt,
});

/** The semantics every DriftStore keeps (see `drift-store.ts`). */
export function runDriftStoreContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body);

  test(`${name}: a profile is replaced under its key and read back as saved`, run(async (_h, store) => {
    expect(await store.drift.profile('dataset:d1')).toBeUndefined();
    await store.drift.saveProfile('dataset:d1', { rows: 1, columns: { a: { kind: 'numeric', positive: [[3, 1]] } } }, 5);
    await store.drift.saveProfile('dataset:d1', { rows: 2, columns: {} }, 6);
    expect(await store.drift.profile('dataset:d1')).toEqual({ profile: { rows: 2, columns: {} }, savedAt: 6 });
  }));

  test(`${name}: latest gives the newest result per subject, feature and metric; history all of a subject, newest first`, run(async (h, store) => {
    await store.drift.record([result('v__a', 0.3, 1), result('v__b', 0.01, 1), result('c', 0.2, 1, 'source:s')]);
    await store.drift.record([result('v__a', 0.05, 2), { ...result('v__a', 0.5, 2), metric: 'js' }]);
    // Same time: the later record wins.
    await store.drift.record([result('v__b', 0.12, 1)]);
    const other = await h.open();
    try {
      expect((await other.drift.latest()).map((r) => [r.subject, r.feature, r.metric, r.score])).toEqual([
        ['dataset:d1', 'v__a', 'js', 0.5], ['dataset:d1', 'v__a', 'psi', 0.05], ['dataset:d1', 'v__b', 'psi', 0.12], ['source:s', 'c', 'psi', 0.2],
      ]);
      expect(await other.drift.latest({ subject: 'source:s' })).toEqual([result('c', 0.2, 1, 'source:s')]);
      expect((await other.drift.history('dataset:d1', 10)).map((r) => [r.feature, r.score])).toEqual([['v__a', 0.5], ['v__a', 0.05], ['v__b', 0.12], ['v__b', 0.01], ['v__a', 0.3]]);
      expect(await other.drift.history('dataset:d1', 1)).toHaveLength(1);
    } finally {
      await other.close();
    }
  }));
}
