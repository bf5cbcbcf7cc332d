import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import { MAX_KEY_BYTES, type FeatureView } from '../../src/definitions/index.js';
import type { EntityState } from '../../src/processing/entity-state.js';
import type { OnlineStore, ViewTableSpec } from '../../src/storage/online/online-store.js';

/** A process that writes view `v` forever (never finishing); it prints a line once some entries are written. */
export interface WriterProcess {
  readonly command: string;
  readonly args: readonly string[];
}

export interface OnlineStoreHarness extends StoreHarness<OnlineStore> {
  writerProcess(): WriterProcess;
}

const state = (n: number): EntityState => ({
  horizon: 1_000 + n,
  base: [null, { state: { n, partials: [n / 3], value: `v${n}`, distinct: ['a', 1, 2n ** 60n, null] }, ts: 900 }],
  ts: new Float64Array([1_000, 1_001, 1_001]),
  columns: [new Float64Array([0.1, -5e-324, NaN]), { dict: ['x', 'ü€😀'], codes: new Int32Array([0, -1, 1]) }, { hi: new Float64Array([2 ** 63, 1, NaN]), lo: new Float64Array([-1, 0, 0]) }],
});

/** A minimal definition of view `name` with hash `hash`. */
export const definition = (hash: string, name = 'v'): FeatureView => ({
  name, entity: 'e', joinKeys: ['k'], source: 's', features: [{ name: 'n', fn: 'count', valueType: 'int64' }], columnTypes: {}, hash,
});

const spec = (hash: string, materializedAt = 1, name = 'v'): ViewTableSpec => ({
  definition: definition(hash, name), materializedAt, horizon: 0, snapshots: { s: { id: `snap-${materializedAt}`, version: materializedAt } },
});

interface Script {
  /** Wait for this before yielding entry `at`. */
  readonly pause?: { at: number; until: Promise<void> };
  /** Throw instead of yielding entry `failAt`. */
  readonly failAt?: number;
}

async function* entries(pairs: Array<readonly [string, EntityState]>, script: Script = {}) {
  for (const [i, pair] of pairs.entries()) {
    if (i === script.pause?.at) await script.pause.until;
    if (i === script.failAt) throw new Error('writer crashed');
    yield pair;
  }
}

function gate(): { open: () => void; until: Promise<void> } {
  let open!: () => void;
  const until = new Promise<void>((r) => (open = r));
  return { open, until };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

/** The semantics every OnlineStore keeps (see `online-store.ts`). */
export function runOnlineStoreContract(name: string, harness: () => Promise<OnlineStoreHarness>): void {
  const run = (body: (h: OnlineStoreHarness, store: OnlineStore) => Promise<void>) => async () => {
    const h = await harness();
    await withStore(async () => h, (_h, store) => body(h, store))();
  };

  test(`${name}: an unknown view reads as no table and no states`, run(async (_h, store) => {
    expect(await store.read('nope', ['a', 'b'])).toEqual({ info: undefined, states: [undefined, undefined] });
    expect(await store.viewInfo('nope')).toBeUndefined();
  }));

  test(`${name}: values round-trip exactly, in key order, undefined where absent; the table keeps its definition and snapshots`, run(async (_h, store) => {
    const info = await store.replaceView(spec('h1', 5), entries([['a', state(1)], ['b', state(2)]]));
    expect(info).toMatchObject({ view: 'v', viewHash: 'h1', definition: definition('h1'), materializedAt: 5, horizon: 0, entityCount: 2, snapshots: { s: { id: 'snap-5', version: 5 } } });
    const { states } = await store.read('v', ['b', 'zz', 'a', 'b']);
    expect(states).toEqual([state(2), undefined, state(1), state(2)]);
  }));

  test(`${name}: remove takes out listed keys, or the states a predicate selects, of the served table only`, run(async (_h, store) => {
    expect(await store.remove('v', { keys: ['a'] })).toBe(0);
    await store.replaceView(spec('o', 1, 'w'), entries([['a', state(9)]]));
    await store.replaceView(spec('h1', 5), entries([['a', state(1)], ['b', state(2)], ['c', state(3)], ['d', state(4)]]));
    expect(await store.remove('v', { keys: ['a', 'zz'] }, { dryRun: true })).toBe(1);
    expect((await store.read('v', ['a'])).states).toEqual([state(1)]);
    expect(await store.remove('v', { keys: ['a', 'zz'] })).toBe(1);
    expect(await store.remove('v', { where: (key, s) => key === 'c' || s.horizon === 1_004 })).toBe(2);
    expect((await store.read('v', ['a', 'b', 'c', 'd'])).states).toEqual([undefined, state(2), undefined, undefined]);
    expect((await store.read('w', ['a'])).states).toEqual([state(9)]);
  }));

  test(`${name}: a key longer than MAX_KEY_BYTES (never stored: ingest refuses it) reads as absent, beside the others of its read; removing it removes nothing`, run(async (_h, store) => {
    await store.replaceView(spec('h1', 5), entries([['a', state(1)]]));
    for (const long of ['K'.repeat(MAX_KEY_BYTES + 1), 'K'.repeat(3_000), 'é'.repeat(2_500), 'K'.repeat(100_000)]) {
      expect((await store.read('v', ['a', long, 'a'])).states).toEqual([state(1), undefined, state(1)]);
      expect(await store.remove('v', { keys: [long] })).toBe(0);
    }
  }));

  test(`${name}: replacing a view drops entities that are gone; tables of other views stay`, run(async (_h, store) => {
    const other = await store.replaceView(spec('o', 1, 'w'), entries([['a', state(9)]]));
    await store.replaceView(spec('h1', 5), entries([['a', state(1)], ['b', state(2)]]));
    const next = await store.replaceView(spec('h2', 6), entries([['b', state(3)]]));
    expect(next.entityCount).toBe(1);
    expect(await store.read('v', ['a', 'b'])).toEqual({ info: next, states: [undefined, state(3)] });
    expect(await store.viewInfo('v')).toEqual(next);
    expect(await store.read('w', ['a'])).toEqual({ info: other, states: [state(9)] });
    expect(await store.gc()).toEqual({ generations: 0, entries: 0 });
  }));

  test(`${name}: readers see the old table until the new one is complete, and after a failed write`, run(async (_h, store) => {
    await store.replaceView(spec('old'), entries([['a', state(1)], ['b', state(2)]]));
    const g = gate();
    const writing = store.replaceView(spec('new', 2), entries([['a', state(7)], ['b', state(8)]], { pause: { at: 1, until: g.until } }));
    await settle();
    const during = await store.read('v', ['a', 'b']);
    expect(during.info?.viewHash).toBe('old');
    expect(during.states).toEqual([state(1), state(2)]);
    g.open();
    await writing;
    expect((await store.read('v', ['a', 'b'])).states).toEqual([state(7), state(8)]);
    await expect(store.replaceView(spec('broken', 3), entries([['a', state(9)], ['b', state(9)]], { failAt: 1 }))).rejects.toThrow('writer crashed');
    const after = await store.read('v', ['a', 'b']);
    expect(after.info?.viewHash).toBe('new');
    expect(after.states).toEqual([state(7), state(8)]);
    await store.replaceView(spec('next', 4), entries([['b', state(5)]]));
    expect((await store.read('v', ['a', 'b'])).states).toEqual([undefined, state(5)]);
    expect(await store.gc()).toEqual({ generations: 0, entries: 0 });
  }));

  test(`${name}: concurrent writers of one view never share a table; a failing one leaves the others whole`, run(async (h, store) => {
    await store.replaceView(spec('live'), entries([['a', state(1)], ['b', state(2)]]));
    const second = await h.open();
    try {
      const first = gate();
      const failing = gate();
      // The first writer has written "a" and waits; the second writes "a" then fails.
      const winner = store.replaceView(spec('next', 2), entries([['a', state(7)], ['b', state(8)]], { pause: { at: 1, until: first.until } }));
      await settle();
      const loser = second.replaceView(spec('broken', 3), entries([['a', state(9)], ['b', state(9)]], { pause: { at: 1, until: failing.until }, failAt: 1 }));
      await settle();
      failing.open();
      await expect(loser).rejects.toThrow('writer crashed');
      expect(await store.read('v', ['a', 'b'])).toMatchObject({ info: { viewHash: 'live' }, states: [state(1), state(2)] });
      first.open();
      const info = await winner;
      expect(info.viewHash).toBe('next');
      expect((await second.read('v', ['a', 'b'])).states).toEqual([state(7), state(8)]);
      expect(await store.gc()).toEqual({ generations: 0, entries: 0 });
    } finally {
      await second.close();
    }
  }));

  test(`${name}: of two concurrent writers the later-started wins, whatever order they finish in`, run(async (h, store) => {
    const second = await h.open();
    try {
      const early = gate();
      const earlier = store.replaceView(spec('early', 1), entries([['a', state(1)], ['b', state(1)]], { pause: { at: 1, until: early.until } }));
      await settle();
      const later = await second.replaceView(spec('late', 2), entries([['a', state(2)]]));
      expect(later.viewHash).toBe('late');
      early.open();
      expect((await earlier).viewHash).toBe('late');
      expect(await store.read('v', ['a', 'b'])).toMatchObject({ info: { viewHash: 'late' }, states: [state(2), undefined] });
      expect(await store.gc()).toEqual({ generations: 0, entries: 0 });
    } finally {
      await second.close();
    }
  }));

  test(`${name}: a writer killed mid-write (SIGKILL) leaves the served table whole; gc removes what it wrote`, run(async (h, store) => {
    await store.replaceView(spec('live'), entries([['a', state(1)], ['b', state(2)]]));
    const { spawn } = await import('node:child_process');
    const writer = h.writerProcess();
    const child = spawn(writer.command, [...writer.args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', () => reject(new Error('the writer process exited before writing')));
    });
    // While it writes, the served table stays and gc leaves the live writer's table alone.
    expect(await store.gc()).toEqual({ generations: 0, entries: 0 });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(await store.read('v', ['a', 'b'])).toMatchObject({ info: { viewHash: 'live', entityCount: 2 }, states: [state(1), state(2)] });
    expect((await store.gc()).generations).toBe(1);
    expect(await store.gc()).toEqual({ generations: 0, entries: 0 });
    expect((await store.read('v', ['a', 'b'])).states).toEqual([state(1), state(2)]);
  }));

  test(`${name}: a second handle (another process) sees committed tables`, run(async (h, store) => {
    await store.replaceView(spec('h'), entries([['a', state(4)]]));
    const other = await h.open();
    try {
      expect((await other.read('v', ['a'])).states).toEqual([state(4)]);
    } finally {
      await other.close();
    }
  }));

  // A state whose horizon counts the updates it went through (each update adds 1 to what it read).
  const bump = (_key: string, current: EntityState | undefined): EntityState => ({ ...(current ?? state(0)), horizon: (current ?? state(0)).horizon + 1 });

  test(`${name}: update reads each key's current state, writes the new one and merges progress, in one transaction`, run(async (_h, store) => {
    const info = await store.replaceView(spec('h'), entries([['a', state(1)]]));
    const seen: (number | undefined)[] = [];
    const after = await store.update('v', info.generation, ['a', 'b'], (key, current) => {
      seen.push(current?.horizon);
      return key === 'a' ? bump(key, current) : undefined;
    }, { applied: { s: 1 } });
    expect(seen).toEqual([1_001, undefined]);
    expect(after?.applied).toEqual({ s: 1 });
    expect((await store.read('v', ['a', 'b'])).states).toEqual([{ ...state(1), horizon: 1_002 }, undefined]);
    // An offset already applied is not applied twice; a precondition that says no, or a replaced generation, does nothing.
    expect(await store.update('v', info.generation, ['a'], bump, { applied: { s: 1 } })).toMatchObject({ applied: { s: 1 } });
    expect(await store.update('v', info.generation, ['a'], bump, { applied: { s: 2 } }, { precondition: () => false })).toBeUndefined();
    expect(await store.update('v', info.generation + 1_000, ['a'], bump)).toBeUndefined();
    expect((await store.read('v', ['a'])).states[0]?.horizon).toBe(1_002);
  }));

  test(`${name}: an update sees what another handle (another process) wrote or removed since this handle's last update`, run(async (h, store) => {
    const info = await store.replaceView(spec('h'), entries([['a', state(1)], ['b', state(2)]]));
    await store.update('v', info.generation, ['a', 'b'], bump);
    const other = await h.open();
    try {
      await other.update('v', info.generation, ['a'], bump);
      await other.remove('v', { keys: ['b'] });
      const seen: (number | undefined)[] = [];
      await store.update('v', info.generation, ['a', 'b'], (key, current) => {
        seen.push(current?.horizon);
        return bump(key, current);
      });
      expect(seen).toEqual([1_003, undefined]);
      // And the other way round.
      await other.update('v', info.generation, ['a'], (key, current) => {
        seen.push(current?.horizon);
        return bump(key, current);
      });
      expect(seen).toEqual([1_003, undefined, 1_004]);
    } finally {
      await other.close();
    }
    expect((await store.read('v', ['a', 'b'])).states.map((s) => s?.horizon)).toEqual([1_005, 1_001]);
  }));

  test(`${name}: an update with commitAfter commits nothing before it resolves, and nothing at all when it rejects`, run(async (_h, store) => {
    const info = await store.replaceView(spec('h'), entries([['a', state(1)]]));
    let release!: () => void;
    let fail!: (error: Error) => void;
    let applied!: () => void;
    const made = new Promise<void>((resolve) => (applied = resolve));
    let calls = 0;
    const held = store.update('v', info.generation, ['a'], (key, current) => {
      calls++;
      applied();
      return bump(key, current);
    }, { applied: { s: 1 } }, { commitAfter: new Promise<void>((resolve) => (release = resolve)) });
    await made;
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    expect((await store.read('v', ['a'])).states[0]?.horizon).toBe(1_001);
    expect((await store.viewInfo('v'))?.applied?.s).toBeUndefined();
    release();
    expect((await held)?.applied).toEqual({ s: 1 });
    expect((await store.read('v', ['a'])).states[0]?.horizon).toBe(1_002);
    // Nothing came between: the states made while it waited were the ones written.
    expect(calls).toBe(1);
    const failed = store.update('v', info.generation, ['a'], bump, { applied: { s: 2 } }, { commitAfter: new Promise<void>((_, reject) => (fail = reject)) });
    fail(new Error('log entry lost'));
    await expect(failed).rejects.toThrow('log entry lost');
    expect((await store.read('v', ['a'])).states[0]?.horizon).toBe(1_002);
    expect((await store.viewInfo('v'))?.applied?.s).toBe(1);
  }));

  test(`${name}: updates with commitAfter see the updates before them, and what another handle wrote while they waited`, run(async (h, store) => {
    const info = await store.replaceView(spec('h'), entries([['a', state(1)], ['b', state(2)]]));
    let release!: () => void;
    const durable = new Promise<void>((resolve) => (release = resolve));
    let applied!: () => void;
    const made = new Promise<void>((resolve) => (applied = resolve));
    const first = store.update('v', info.generation, ['a', 'b'], (key, current) => {
      applied();
      return bump(key, current);
    }, { applied: { s: 1 } }, { commitAfter: durable });
    // Issued before the first commits: it must read the first's states.
    const second = store.update('v', info.generation, ['a'], bump, { applied: { s: 2 } }, { commitAfter: durable });
    await made;
    const other = await h.open();
    try {
      // Written after the first made its states, before it commits: the first must not overwrite it with states made without it.
      await other.update('v', info.generation, ['b'], bump);
    } finally {
      await other.close();
    }
    release();
    await first;
    await second;
    expect((await store.read('v', ['a', 'b'])).states.map((s) => s?.horizon)).toEqual([1_003, 1_004]);
    expect((await store.viewInfo('v'))?.applied?.s).toBe(2);
  }));

  test(`${name}: an update whose apply throws changes nothing; the next update reads the states as they were`, run(async (_h, store) => {
    const info = await store.replaceView(spec('h'), entries([['a', state(1)], ['b', state(2)]]));
    await store.update('v', info.generation, ['a', 'b'], bump);
    await expect(store.update('v', info.generation, ['a', 'b'], (key, current) => {
      if (key === 'b') throw new Error('apply failed');
      return bump(key, current);
    }, { applied: { s: 1 } })).rejects.toThrow('apply failed');
    const seen: (number | undefined)[] = [];
    await store.update('v', info.generation, ['a', 'b'], (key, current) => {
      seen.push(current?.horizon);
      return undefined;
    });
    expect(seen).toEqual([1_002, 1_003]);
    expect((await store.viewInfo('v'))?.applied?.s).toBeUndefined();
  }));
}
