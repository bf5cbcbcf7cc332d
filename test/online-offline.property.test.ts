import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, countDistinct, defineProject, entity, featureService, featureView, field, last, max, min, avg, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { referenceValue, type RefEvent, type RefFeature } from './support/reference.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const key = entity({ name: 'user', joinKey: 'k' });
const events = batchSource({ name: 'events', schema: { k: 'string', v: 'float64', s: 'string', b: 'bool', i: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const FEATURES = {
  n_all: count(),
  n_v_20: count('v', { window: '20ms' }),
  n_10: count({ window: '10ms' }),
  sum_20: sum('v', { window: '20ms' }),
  sum_all: sum('v'),
  avg_50: avg('v', { window: '50ms' }),
  min_10: min('v', { window: '10ms' }),
  max_all: max('v'),
  min_s_20: min('s', { window: '20ms' }),
  distinct_20: countDistinct('s', { window: '20ms' }),
  distinct_all: countDistinct('v'),
  last_v: last('v'),
  last_s_10: last('s', { window: '10ms' }),
  last_b: last('b'),
  sum_i_20: sum('i', { window: '20ms' }),
  max_i: max('i'),
  distinct_b_50: countDistinct('b', { window: '50ms' }),
  last_ts_20: last('ts', { window: '20ms' }),
  min_ts: min('ts'),
};
const stats = featureView({ name: 'stats', entity: key, source: events, features: FEATURES });
const latest = featureView({ name: 'latest', entity: key, source: events, ttl: '15ms', features: { v: field('v'), s: field('s'), b: field('b'), i: field('i') } });
const spec = defineProject({ name: 'prop', entities: [key], sources: [events], featureViews: [stats, latest], featureServices: [featureService({ name: 'all', features: [stats, latest] })] });

// What each output column computes, read from the compiled definitions; the reference computes
// the values on its own.
const REF: Record<string, RefFeature> = Object.fromEntries(
  compileProject(spec).featureViews.flatMap((view) =>
    view.features.map((f) => [
      `${view.name}__${f.name}`,
      { fn: f.fn, column: f.column, windowMs: f.windowMs, ttlMs: f.fn === 'field' ? view.ttlMs : undefined },
    ]),
  ),
);
// Timestamp-valued features are ISO-8601 strings at the edges.
const TIMESTAMP_VALUED = new Set(['stats__last_ts_20', 'stats__min_ts']);
const expected = (ref: RefEvent[], k: string, t: number, column: string, feature: RefFeature) => {
  const value = referenceValue(ref, k, t, feature);
  return TIMESTAMP_VALUED.has(column) && typeof value === 'number' ? new Date(value).toISOString() : value;
};

// Values chosen so that summation order changes results (0.1 + 0.2, 1e16 + 1) and nulls are common.
const value = fc.oneof(fc.constant(null), fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 1, 2.5, -7.25, 1 / 3, 100));
const text = fc.oneof(fc.constant(null), fc.constantFrom('a', 'b', 'c', 'B', 'aa'));
// Hot-spot timestamps make ties (several events at one instant) common.
const flag = fc.oneof(fc.constant(null), fc.boolean());
const integer = fc.oneof(fc.constant(null), fc.integer({ min: -1000, max: 1000 }), fc.constant(2 ** 52));
const eventArb = fc.record({ key: fc.constantFrom('u1', 'u2', 'u3'), ts: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.constantFrom(10, 20, 30)), v: value, s: text, b: flag, i: integer });
const scenario = fc.record({
  batches: fc.array(fc.array(eventArb, { minLength: 0, maxLength: 25 }), { minLength: 1, maxLength: 3 }),
  spineTimes: fc.array(fc.integer({ min: -5, max: 140 }), { minLength: 1, maxLength: 12 }),
  asOf: fc.integer({ min: 0, max: 100 }),
  later: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 4 }),
});

type GeneratedEvent = { key: string; ts: number; v: number | null; s: string | null; b: boolean | null; i: number | null };

function toRefEvents(batches: GeneratedEvent[][]): RefEvent[] {
  let order = 0;
  return batches.flatMap((batch) => batch.map((e) => ({ key: e.key, ts: T0 + e.ts, order: order++, values: { v: e.v, s: e.s, b: e.b, i: e.i, ts: T0 + e.ts } })));
}

describe('online == offline == brute-force reference', () => {
  test('for random events (nulls, ties, out-of-order arrival, window edges) and random query times', async () => {
    expect(Object.keys(REF)).toHaveLength(23);
    await fc.assert(
      fc.asyncProperty(scenario, async ({ batches, spineTimes, asOf, later }) => {
        const env = await tempPlatform(spec, T0 + asOf);
        try {
          for (const [i, batch] of batches.entries()) {
            const file = join(env.dir, `batch${i}.jsonl`);
            writeFileSync(file, batch.map((e) => JSON.stringify({ k: e.key, v: e.v, s: e.s, b: e.b, i: e.i, ts: new Date(T0 + e.ts).toISOString() })).join('\n') + '\n');
            await ingestFile(env.platform, env.project, 'events', file, { force: true });
          }
          const ref = toRefEvents(batches);
          const keys = ['u1', 'u2', 'u3', 'nobody'];
          // Offline: a spine over every key and random times, including window edges of events.
          const spineRows = keys.flatMap((k) => spineTimes.map((t) => ({ k, ts: T0 + t })));
          const spine = join(env.dir, 'spine.jsonl');
          writeFileSync(spine, spineRows.map((r) => JSON.stringify({ k: r.k, ts: new Date(r.ts).toISOString() })).join('\n') + '\n');
          const out = join(env.dir, 'out.jsonl');
          await buildDataset(env.platform, env.project, { spine, out, service: 'all' });
          const dataset = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
          expect(dataset.length).toBe(spineRows.length);
          spineRows.forEach((row, i) => {
            for (const [column, feature] of Object.entries(REF)) {
              expect({ row, column, value: dataset[i]![column] }).toEqual({ row, column, value: expected(ref, row.k, row.ts, column, feature) });
            }
          });
          // Online: materialize at asOf, then serve at asOf and later times, as windows keep expiring.
          await materialize(env.platform, env.project);
          const store = await env.platform.online();
          for (const delta of [0, ...later]) {
            const t = T0 + asOf + delta;
            const response = await getOnlineFeatures(env.project, store, { service: 'all', entities: { k: keys } }, t, await latestSnapshots(env.platform.metadata, env.project));
            expect(response.asOf).toBe(new Date(t).toISOString());
            response.rows.forEach((r, i) => {
              for (const [column, feature] of Object.entries(REF)) {
                expect({ k: keys[i], t, column, value: r[column] }).toEqual({ k: keys[i], t, column, value: expected(ref, keys[i]!, t, column, feature) });
              }
            });
          }
        } finally {
          await env.dispose();
        }
      }),
      { numRuns: 40 },
    );
  });
});
