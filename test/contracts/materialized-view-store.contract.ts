import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import type { MetadataStore } from '../../src/storage/metadata/metadata-store.js';

/** The semantics every MaterializedViewStore keeps (see `materialized-view-store.ts`). */
export function runMaterializedViewStoreContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body);

  test(`${name}: the latest materialization per view replaces the earlier one (ifAbsent: only a missing one), listed by view name, and is read by another handle`, run(async (h, store) => {
    expect(await store.materialized.list()).toEqual([]);
    await store.materialized.record({ view: 'txn', viewHash: 'h1', materializedAt: 100, runId: 'r1' });
    await store.materialized.record({ view: 'acct', viewHash: 'h9', materializedAt: 50, runId: null });
    await store.materialized.record({ view: 'txn', viewHash: 'h2', materializedAt: 90, runId: 'r2' });
    // ifAbsent: only for a view without a row.
    await store.materialized.record({ view: 'txn', viewHash: 'h3', materializedAt: 95, runId: null }, { ifAbsent: true });
    await store.materialized.record({ view: 'new', viewHash: 'h4', materializedAt: 1, runId: null }, { ifAbsent: true });
    const other = await h.open();
    try {
      expect(await other.materialized.list()).toEqual([
        { view: 'acct', viewHash: 'h9', materializedAt: 50, runId: null },
        { view: 'new', viewHash: 'h4', materializedAt: 1, runId: null },
        { view: 'txn', viewHash: 'h2', materializedAt: 90, runId: 'r2' },
      ]);
    } finally {
      await other.close();
    }
  }));
}
