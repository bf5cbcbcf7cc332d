import fc from 'fast-check';
import { expect, test } from 'vitest';
import { avg, batchSource, compileProject, count, countDistinct, defineProject, entity, featureView, last, max, min, sum } from '../definitions/index.js';
import { EventApplier } from './apply-events.js';
import { evaluateViewInto, planEvaluation, type ValueSink } from './evaluate-online.js';
import { viewPlan } from './feature-plan.js';

const HOUR = 3_600_000;
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', timestamp: 'ts', schema: { customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' } });
const windowed = (w: string) => ({
  [`n_${w}`]: count({ window: w }), [`na_${w}`]: count('amount', { window: w }), [`s_${w}`]: sum('amount', { window: w }), [`a_${w}`]: avg('amount', { window: w }),
  [`lo_${w}`]: min('amount', { window: w }), [`hi_${w}`]: max('amount', { window: w }), [`l_${w}`]: last('amount', { window: w }),
  [`m_${w}`]: last('merchant', { window: w }), [`d_${w}`]: countDistinct('merchant', { window: w }),
});
const [view] = compileProject(defineProject({
  name: 'compiled', entities: [customer], sources: [transactions], featureViews: [featureView({
    name: 'txn', entity: customer, source: transactions, ttl: '20h', features: {
      ...windowed('1h'), ...windowed('6h'), ...windowed('2d'),
      n: count(), na: count('amount'), s: sum('amount'), lo: min('amount'), l: last('amount'), m: last('merchant'), d: countDistinct('merchant'),
    },
  })],
})).featureViews;
const plan = viewPlan(view!);
const MERCHANTS = ['a', 'b', 'é', 'd'];

const event = fc.record({ at: fc.integer({ min: 0, max: 72 * HOUR }), amount: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(NaN), fc.constantFrom(-0, 0.1, 0.2, 1e308)), merchant: fc.integer({ min: -1, max: MERCHANTS.length - 1 }) });

test('the compiled evaluation gives the values, statuses and ages of the loop over slots and features, for any state', () => {
  fc.assert(fc.property(fc.array(event, { maxLength: 40 }), fc.integer({ min: 0, max: 72 * HOUR }), fc.integer({ min: 0, max: 30 * HOUR }), (events, asOf, later) => {
    const sorted = [...events].sort((x, y) => x.at - y.at).filter((e) => e.at < asOf);
    const batch = { ts: Float64Array.from(sorted, (e) => e.at), columns: plan.columns.map((c) => (c === 'amount' ? Float64Array.from(sorted, (e) => e.amount) : { dict: MERCHANTS, codes: Int32Array.from(sorted, (e) => e.merchant) })) };
    // Built as of `asOf` (events before the longest window become base states), evaluated later.
    const state = new EventApplier(plan).apply(undefined, batch, [...batch.ts.keys()], asOf);
    expect(state.tiles).toBeUndefined();
    const evaluation = planEvaluation(view!, view!.features);
    const positions = view!.features.map((_, f) => f);
    const run = (s: typeof state, unrolled = true): ValueSink => {
      const sink: ValueSink = { values: [], status: [], ageMs: [] };
      evaluateViewInto(evaluation, s, asOf + later, sink, positions, unrolled);
      return sink;
    };
    const compiled = run(state);
    // Tiles with no slot tiled: the same state, evaluated by the loop (the path tiled states take).
    const looped = run({ ...state, tiles: { asOf, slots: [] } });
    expect(compiled).toEqual(run(state, false));
    expect(compiled.status).toEqual(looped.status);
    expect(compiled.ageMs).toEqual(looped.ageMs);
    compiled.values.forEach((v, i) => expect(Object.is(v, looped.values[i]) || (Array.isArray(v) && JSON.stringify(v) === JSON.stringify(looped.values[i]))).toBe(true));
  }), { numRuns: 300 });
});

test('ages of count() and last() are those of the newest row in the window, null rows included for count()', () => {
  const ts = Float64Array.of(1 * HOUR, 2 * HOUR, 3 * HOUR);
  const batch = { ts, columns: plan.columns.map((c) => (c === 'amount' ? Float64Array.of(1, 2, NaN) : { dict: MERCHANTS, codes: Int32Array.of(0, 1, -1) })) };
  const state = new EventApplier(plan).apply(undefined, batch, [0, 1, 2], 4 * HOUR);
  const sink: ValueSink = { values: [], status: [], ageMs: [] };
  const names = view!.features.map((f) => f.name);
  evaluateViewInto(planEvaluation(view!, view!.features), state, 4 * HOUR, sink, names.map((_, f) => f), true);
  const age = (name: string) => sink.ageMs[names.indexOf(name)];
  expect([age('n_6h'), age('na_6h'), age('l_6h'), age('m_6h'), age('n_1h'), age('n')]).toEqual([HOUR, 2 * HOUR, 2 * HOUR, 2 * HOUR, HOUR, HOUR]);
  expect(sink.values[names.indexOf('n_1h')]).toBe(1);
});
