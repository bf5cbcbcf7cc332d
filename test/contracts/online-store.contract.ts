import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import type { EntityState } from '../../src/processing/entity-state.js';
import type { OnlineStore } from '../../src/storage/online/online-store.js';

export type OnlineStoreHarness = StoreHarness<OnlineStore>;

const state = (n: number): EntityState => ({
  horizon: 1_000 + n,
  base: [null, { state: { n, partials: [n / 3], value: `v${n}`, distinct: ['a', 1, 2n ** 60n, null] }, ts: 900 }],
  ts: new Float64Array([1_000, 1_001, 1_001]),
  columns: [new Float64Array([0.1, -5e-324, NaN]), { dict: ['x', 'ü€😀'], codes: new Int32Array([0, -1, 1]) }, { hi: new Float64Array([2 ** 63, 1, NaN]), lo: new Float64Array([-1, 0, 0]) }],
});

async function* entries(pairs: Array<readonly [string, EntityState]>, pause?: Promise<void>, failAt?: number) {
  for (const [i, pair] of pairs.entries()) {
    if (i === failAt) throw new Error('writer crashed');
    if (i === 1 && pause) await pause;
    yield pair;
  }
}

/** The semantics every OnlineStore keeps (see `online-store.ts`). */
export function runOnlineStoreContract(name: string, harness: () => Promise<OnlineStoreHarness>): void {
  const run = (body: (h: OnlineStoreHarness, store: OnlineStore) => Promise<void>) => withStore(harness, body);

  test(`${name}: an unknown view reads as no table and no states`, run(async (_h, store) => {
    expect(await store.read('nope', ['a', 'b'])).toEqual({ info: undefined, states: [undefined, undefined] });
    expect(await store.viewInfo('nope')).toBeUndefined();
  }));

  test(`${name}: values round-trip exactly, in key order, undefined where absent`, run(async (_h, store) => {
    const info = await store.replaceView('v', { viewHash: 'h1', materializedAt: 5, horizon: 1 }, entries([['a', state(1)], ['b', state(2)]]));
    expect(info).toMatchObject({ viewHash: 'h1', materializedAt: 5, horizon: 1, entityCount: 2 });
    const { states } = await store.read('v', ['b', 'zz', 'a', 'b']);
    expect(states).toEqual([state(2), undefined, state(1), state(2)]);
  }));

  test(`${name}: replacing a view drops entities that are gone`, run(async (_h, store) => {
    await store.replaceView('v', { viewHash: 'h1', materializedAt: 5, horizon: 1 }, entries([['a', state(1)], ['b', state(2)]]));
    const next = await store.replaceView('v', { viewHash: 'h2', materializedAt: 6, horizon: 2 }, entries([['b', state(3)]]));
    expect(next.entityCount).toBe(1);
    expect(await store.read('v', ['a', 'b'])).toEqual({ info: next, states: [undefined, state(3)] });
    expect(await store.viewInfo('v')).toEqual(next);
  }));

  test(`${name}: readers see the old table until the new one is complete, and after a failed write`, run(async (_h, store) => {
    await store.replaceView('v', { viewHash: 'old', materializedAt: 1, horizon: 0 }, entries([['a', state(1)], ['b', state(2)]]));
    let release!: () => void;
    const pause = new Promise<void>((r) => (release = r));
    const writing = store.replaceView('v', { viewHash: 'new', materializedAt: 2, horizon: 0 }, entries([['a', state(7)], ['b', state(8)]], pause));
    await new Promise((r) => setTimeout(r, 20));
    const during = await store.read('v', ['a', 'b']);
    expect(during.info?.viewHash).toBe('old');
    expect(during.states).toEqual([state(1), state(2)]);
    release();
    await writing;
    expect((await store.read('v', ['a', 'b'])).states).toEqual([state(7), state(8)]);
    await expect(store.replaceView('v', { viewHash: 'broken', materializedAt: 3, horizon: 0 }, entries([['a', state(9)], ['b', state(9)]], undefined, 1))).rejects.toThrow('writer crashed');
    const after = await store.read('v', ['a', 'b']);
    expect(after.info?.viewHash).toBe('new');
    expect(after.states).toEqual([state(7), state(8)]);
    // What the crashed writer left behind never leaks into a later table.
    await store.replaceView('v', { viewHash: 'next', materializedAt: 4, horizon: 0 }, entries([['b', state(5)]]));
    expect((await store.read('v', ['a', 'b'])).states).toEqual([undefined, state(5)]);
  }));

  test(`${name}: a second handle (another process) sees committed tables`, run(async (h, store) => {
    await store.replaceView('v', { viewHash: 'h', materializedAt: 1, horizon: 0 }, entries([['a', state(4)]]));
    const other = await h.open();
    try {
      expect((await other.read('v', ['a'])).states).toEqual([state(4)]);
    } finally {
      await other.close();
    }
  }));
}
