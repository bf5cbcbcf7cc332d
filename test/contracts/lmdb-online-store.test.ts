import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { describe, expect, test } from 'vitest';
import { lmdbOnlineStore } from '../../src/storage/online/lmdb/index.js';
import { definition, runOnlineStoreContract } from './online-store.contract.js';

describe('LMDB online store', () => {
  runOnlineStoreContract('lmdb', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-'));
    return {
      open: async () => lmdbOnlineStore({ path: dir }),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
      // The built store (the test setup builds dist/ first), in a real separate process.
      writerProcess: () => ({ command: process.execPath, args: [join(import.meta.dirname, 'lmdb-writer-process.mjs'), dir] }),
    };
  });
});

describe('LMDB online store, flushed on a schedule (flushEveryMs)', () => {
  runOnlineStoreContract('lmdb-deferred-flush', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-'));
    return {
      open: async () => lmdbOnlineStore({ path: dir, flushEveryMs: 20 }),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
      writerProcess: () => ({ command: process.execPath, args: [join(import.meta.dirname, 'lmdb-writer-process.mjs'), dir] }),
    };
  });
});

describe('LMDB online store recovery', () => {
  test('a crash between the switch and the drop leaves a replaced generation that gc removes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-'));
    try {
      const store = lmdbOnlineStore({ path: dir });
      async function* one(n: number) {
        yield ['a', { horizon: n, base: [], ts: new Float64Array(0), columns: [] }] as const;
      }
      const served = await store.replaceView({ definition: definition('h'), materializedAt: 1, horizon: 0, snapshots: {} }, one(1));
      await store.close();
      // What the writer of a later table that replaced generation 1 and died before dropping it would leave.
      const raw = open({ path: dir, compression: false, encoder: { moreTypes: true } });
      await raw.put(['\u0000generation', 0], { view: 'v', viewHash: 'old', writer: null, startedAt: 0 });
      await raw.put([0, 'a'], { horizon: 0 });
      await raw.close();
      const again = lmdbOnlineStore({ path: dir });
      try {
        expect(await again.gc()).toEqual({ generations: 1, entries: 1 });
        expect(await again.read('v', ['a'])).toMatchObject({ info: { generation: served.generation }, states: [{ horizon: 1 }] });
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LMDB online store upgrade', () => {
  test('gc removes tables of the earlier layout ([META, view] pointers, [view, generation, key] entries) and keeps current ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-'));
    try {
      const legacy = open({ path: dir, compression: false, encoder: { moreTypes: true } });
      await legacy.put(['\u0000meta', 'txn'], { viewHash: 'h', generation: 3 });
      for (const key of ['a', 'b']) await legacy.put(['txn', 3, key], { horizon: 0 });
      await legacy.close();
      const store = lmdbOnlineStore({ path: dir });
      try {
        async function* one() {
          yield ['a', { horizon: 0, base: [], ts: new Float64Array(0), columns: [] }] as const;
        }
        await store.replaceView({ definition: definition('now', 'txn'), materializedAt: 1, horizon: 0, snapshots: {} }, one());
        expect(await store.gc()).toEqual({ generations: 0, entries: 0 });
        expect((await store.read('txn', ['a'])).states[0]).toBeDefined();
      } finally {
        await store.close();
      }
      const check = open({ path: dir, compression: false, encoder: { moreTypes: true } });
      expect([...check.getKeys({ start: ['\u0000meta'] })].filter((k) => (k as unknown[])[0] === '\u0000meta' || (k as unknown[])[0] === 'txn')).toEqual([]);
      await check.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LMDB online store layouts', () => {
  test('states are stored in the binary layout (a msgpack bin to other readers); a served table of the earlier layout (msgpack maps) still reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-'));
    try {
      const store = lmdbOnlineStore({ path: dir });
      async function* one() {
        yield ['a', { horizon: 7, base: [{ state: 3, ts: 1 }], ts: new Float64Array([8]), columns: [new Float64Array([NaN])] }] as const;
      }
      const served = await store.replaceView({ definition: definition('h'), materializedAt: 1, horizon: 0, snapshots: {} }, one());
      await store.close();
      const raw = open({ path: dir, compression: false, encoder: { moreTypes: true } });
      expect(Buffer.from(raw.get([served.generation, 'a']) as Uint8Array).subarray(0, 4).toString('latin1')).toBe('SLS1');
      await raw.put([served.generation, 'b'], { horizon: 5, base: [null], ts: new Float64Array([6]), columns: [{ dict: ['x'], codes: new Int32Array([0]) }] });
      await raw.close();
      const again = lmdbOnlineStore({ path: dir });
      try {
        const { states } = await again.read('v', ['a', 'b', 'c']);
        expect(states[0]).toMatchObject({ horizon: 7, base: [{ state: 3, ts: 1 }], ts: new Float64Array([8]) });
        expect(states[1]).toMatchObject({ horizon: 5, base: [null], ts: new Float64Array([6]), columns: [{ dict: ['x'], codes: new Int32Array([0]) }] });
        expect(states[2]).toBeUndefined();
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('states read one key at a time keep their values while many later reads fill and replace the shared chunks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-'));
    try {
      const store = lmdbOnlineStore({ path: dir });
      // About 1.6 KiB per state: 200 of them fill five 64 KiB chunks.
      const stateOf = (k: number) => ({ horizon: k, base: [{ state: k, ts: 1 }], ts: Float64Array.from({ length: 100 }, (_, i) => k * 1000 + i), columns: [Float64Array.from({ length: 100 }, (_, i) => k + i / 8)] });
      async function* states() {
        for (let k = 0; k < 200; k++) yield [`k${k}`, stateOf(k)] as const;
      }
      await store.replaceView({ definition: definition('h'), materializedAt: 1, horizon: 0, snapshots: {} }, states());
      const held = [];
      for (let k = 0; k < 200; k++) held.push((await store.read('v', [`k${k}`])).states[0]);
      const batch = (await store.read('v', Array.from({ length: 200 }, (_, k) => `k${k}`))).states;
      for (let k = 0; k < 200; k++) {
        expect(held[k]).toMatchObject(stateOf(k));
        expect(batch[k]).toMatchObject(stateOf(k));
      }
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
