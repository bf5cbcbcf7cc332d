import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, countDistinct, defineProject, entity, featureView, last, max, sum } from '../definitions/index.js';
import { decodeEntityState, encodeEntityState } from '../storage/online/lmdb/entity-state-codec.js';
import { EventApplier, type EventBatch } from './apply-events.js';
import type { EntityState } from './entity-state.js';
import { evaluateViewInto, planEvaluation, type ValueSink } from './evaluate-online.js';
import { viewPlan } from './feature-plan.js';

const HOUR = 3_600_000;
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', timestamp: 'ts', schema: { customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' } });
const h = { window: '30h', hop: '1h' } as const;
const [view] = compileProject(defineProject({
  name: 'tiles', entities: [customer], sources: [transactions], featureViews: [featureView({
    name: 'txn', entity: customer, source: transactions, features: {
      n: count(h), total: sum('amount', h), largest: max('amount', h), merchants: countDistinct('merchant', h), last_amount: last('amount'),
    },
  })],
})).featureViews;
const plan = viewPlan(view!);
const MERCHANTS = Array.from({ length: 40 }, (_, m) => `m${m}`);

/** `perHop` events in hour `hop`, spread over it: amounts and merchants cycling. */
function hourOfEvents(hop: number, perHop: number): EventBatch {
  const ts = Float64Array.from({ length: perHop }, (_, i) => hop * HOUR + Math.floor((i * HOUR) / perHop));
  const amount = Float64Array.from(ts, (_, i) => ((hop * 7 + i * 13) % 1000) / 10);
  const codes = Int32Array.from(ts, (_, i) => (hop * 3 + i) % MERCHANTS.length);
  return { ts, columns: plan.columns.map((c) => (c === 'amount' ? amount : { dict: MERCHANTS, codes })) };
}

/** A hot entity streamed hour by hour (each hour applied as it ends); the encoded state after each hour. */
function stream(hours: number, perHop: number): { sizes: number[]; state: EntityState } {
  const applier = new EventApplier(plan);
  let state: EntityState | undefined;
  const sizes: number[] = [];
  for (let hop = 0; hop < hours; hop++) {
    const batch = hourOfEvents(hop, perHop);
    state = applier.apply(state, batch, [...batch.ts.keys()], (hop + 1) * HOUR);
    sizes.push(encodeEntityState(state).length);
  }
  return { sizes, state: state! };
}

function evaluate(state: EntityState, t: number): unknown[] {
  const evaluation = planEvaluation(view!, view!.features);
  const sink: ValueSink = { values: [], status: [], ageMs: [] };
  evaluateViewInto(evaluation, state, t, sink, view!.features.map((_, f) => f));
  return [sink.values, sink.status, sink.ageMs];
}

describe('a hot entity of a hopped window keeps tiles: its state is bounded', () => {
  test('state bytes stop growing once the window is full, whatever the number of events', () => {
    const { sizes, state } = stream(120, 200);
    // The window holds 30 hops: from then on one hop closes as one leaves.
    expect(state.tiles).toBeDefined();
    for (const tiles of state.tiles!.slots) if (tiles) expect(tiles.starts.length).toBeLessThanOrEqual(31);
    expect(state.ts.length).toBeLessThanOrEqual(200);
    const full = sizes[40]!;
    for (const size of sizes.slice(40)) expect(Math.abs(size - full)).toBeLessThan(full * 0.05);
    // 24,000 events streamed, the raw events of the window alone would be 6,000 x (8 + 8 + 4) bytes.
    expect(sizes.at(-1)!).toBeLessThan(6_000 * 20 / 4);
  });

  test('more events per hop do not grow the tiles (only the open hop is raw)', () => {
    const few = stream(60, 100).state;
    const many = stream(60, 1_000).state;
    const tileBytes = (s: EntityState) => encodeEntityState(s).length - encodeEntityState({ ...s, tiles: undefined }).length;
    expect(tileBytes(many)).toBeLessThan(tileBytes(few) * 1.2);
  });

  test('the stored (encoded) state answers as the built one, at the cut and as windows move on', () => {
    const { state } = stream(50, 60);
    const decoded = decodeEntityState(encodeEntityState(state));
    expect(decoded.tiles).toEqual(state.tiles);
    // Tiles are written in the layout's second version; a state without them in the first, as before.
    expect(encodeEntityState(state).subarray(0, 4).toString('latin1')).toBe('SLS2');
    expect(encodeEntityState({ ...state, tiles: undefined }).subarray(0, 4).toString('latin1')).toBe('SLS1');
    for (const t of [50 * HOUR, 50 * HOUR + 1, 61.5 * HOUR, 79 * HOUR, 81 * HOUR]) expect(evaluate(decoded, t)).toEqual(evaluate(state, t));
  });

  test('a cold entity keeps raw events only, as before tiles existed', () => {
    const applier = new EventApplier(plan);
    let state: EntityState | undefined;
    for (let hop = 0; hop < 40; hop += 4) {
      const batch = hourOfEvents(hop, 1);
      state = applier.apply(state, batch, [0], (hop + 1) * HOUR);
    }
    expect(state!.tiles).toBeUndefined();
  });

  test('a state written without tiles is tiled by the next apply, late events land in closed hops, and values stay those of every event', () => {
    const concat = (batches: EventBatch[]): EventBatch => {
      const ts = Float64Array.from(batches.flatMap((b) => [...b.ts]));
      const order = [...ts.keys()].sort((a, b) => ts[a]! - ts[b]!);
      const pick = (c: number) => {
        const all = batches.flatMap((b) => [...(c === 0 ? (b.columns[c] as Float64Array) : (b.columns[c] as { codes: Int32Array }).codes)]);
        return order.map((i) => all[i]!);
      };
      return {
        ts: Float64Array.from(order, (i) => ts[i]!),
        columns: plan.columns.map((name, c) => (name === 'amount' ? Float64Array.from(pick(c)) : { dict: MERCHANTS, codes: Int32Array.from(pick(c)) })),
      };
    };
    const early = concat(Array.from({ length: 40 }, (_, hop) => hourOfEvents(hop, 50)));
    const late = concat([...Array.from({ length: 20 }, (_, k) => hourOfEvents(40 + k, 50)), hourOfEvents(35, 7), hourOfEvents(12, 3)]);
    const applier = new EventApplier(plan);
    // Cut at 0: no hop closed, every event raw (as states were stored before tiles).
    const before = applier.apply(undefined, early, [...early.ts.keys()], 0);
    expect(before.tiles).toBeUndefined();
    const after = applier.apply(before, late, [...late.ts.keys()], 60 * HOUR + 1);
    expect(after.tiles).toBeDefined();
    expect(after.ts.length).toBeLessThan(100);
    // Later still, late events into hops the tiles closed: their tiles are restored, added to, snapshotted.
    const later = concat([hourOfEvents(45, 5), hourOfEvents(59, 2), hourOfEvents(60, 9)]);
    const last = applier.apply(after, later, [...later.ts.keys()], 61 * HOUR + 5);
    expect(last.tiles!.slots.find((s) => s !== null)!.starts).toContain(60 * HOUR);
    const raw = (batches: EventBatch[]) => {
      const all = concat(batches);
      return applier.apply(undefined, all, [...all.ts.keys()], 0);
    };
    expect(raw([early, late]).tiles).toBeUndefined();
    for (const t of [60 * HOUR + 1, 61 * HOUR, 65.5 * HOUR, 89 * HOUR, 95 * HOUR]) expect(evaluate(after, t)).toEqual(evaluate(raw([early, late]), t));
    for (const t of [61 * HOUR + 5, 62 * HOUR, 75.25 * HOUR, 90 * HOUR]) expect(evaluate(last, t)).toEqual(evaluate(raw([early, late, later]), t));
  });
});
