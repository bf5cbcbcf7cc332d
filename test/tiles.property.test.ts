import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compileProject, count, countDistinct, defineProject, entity, featureService, featureView, last, max, min, avg, streamSource, sum } from '../src/definitions/index.js';
import { materialize } from '../src/processing/materialize.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { referenceValue, type RefEvent, type RefFeature } from './support/reference.js';
import { checkDataset } from './support/stream-ops.js';
import { tempPlatform } from './support/temp-platform.js';

// Hopped windows over many hops (hop 5 ms, window 50 ms; and 7 ms / 28 ms), hot entities (tens
// of events per hop), so their closed hops are kept as tiles; materializing at "now" closes hops
// that later pushes (up to 40 ms late) still land in.
const key = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({
  name: 'events', schema: { id: 'string', k: 'string', v: 'float64', s: 'string', i: 'int64', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'id', allowedLateness: '40ms', maxClockSkew: '5ms',
});
const h = { window: '50ms', hop: '5ms' } as const;
const hot = featureView({
  name: 'hot', entity: key, source: events, features: {
    n_h: count(h), sum_h: sum('v', h), avg_h: avg('v', h), max_h: max('v', h), min_s_h: min('s', h),
    distinct_h: countDistinct('s', h), last_s_h: last('s', h), sum_i_h: sum('i', { window: '28ms', hop: '7ms' }),
    n_12: count({ window: '12ms' }), sum_all: sum('v'), last_v: last('v'),
  },
});
const spec = defineProject({ name: 'tiles_prop', entities: [key], sources: [events], featureViews: [hot], featureServices: [featureService({ name: 'all', features: [hot] })] });
const REF: Record<string, RefFeature> = Object.fromEntries(
  compileProject(spec).featureViews.flatMap((view) => view.features.map((f) => [`hot__${f.name}`, { fn: f.fn, column: f.column, windowMs: f.windowMs, hopMs: f.hopMs }])),
);

const value = fc.oneof(fc.constant(null), fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 1, 2.5, 1 / 3));
const text = fc.oneof(fc.constant(null), fc.constantFrom('a', 'b', 'B', '\u{1F600}', 'é', 'z'));
const integer = fc.oneof(fc.constant(null), fc.integer({ min: -1000, max: 1000 }).map(BigInt), fc.constant(2n ** 63n - 1n));
const event = fc.record({ key: fc.constantFrom('u1', 'u1', 'u1', 'u2'), offset: fc.integer({ min: -44, max: 7 }), v: value, s: text, i: integer });
const step = fc.record({ advance: fc.integer({ min: 0, max: 8 }), events: fc.array(event, { minLength: 5, maxLength: 60 }), materialize: fc.integer({ min: 0, max: 9 }).map((n) => n < 2) });

let tiledStates = 0;

describe('hopped windows kept as tiles: online == dataset == brute-force reference', () => {
  test('hot entities over many hops, late events into closed hops, materializes in between', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(Date.parse('2024-01-01T00:00:03Z'), -20), fc.array(step, { minLength: 10, maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 70 }), { minLength: 1, maxLength: 3 }), async (t0, steps, later) => {
        const env = await tempPlatform(spec, t0, { threads: 2 });
        const runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
        try {
          const ref: RefEvent[] = [];
          let id = 0;
          for (const s of steps) {
            env.clock.now += s.advance;
            const ack = env.clock.now;
            const texts = s.events.map((e) => `{"id":"e${id++}","k":"${e.key}","v":${e.v},"s":${JSON.stringify(e.s)},"i":${e.i === null ? 'null' : e.i.toString()},"ts":"${new Date(ack + e.offset).toISOString()}"}`);
            const outcome = await runtime.processor.append('events', { texts }, 'push');
            const accepted = s.events.filter((e) => e.offset >= -40 && e.offset <= 5);
            expect(outcome.accepted).toBe(accepted.length);
            for (const e of accepted) ref.push({ key: e.key, ts: ack + e.offset, order: ref.length, values: { v: e.v, s: e.s, i: e.i } });
            if (s.materialize) await materialize(env.platform, env.project);
          }
          const keys = ['u1', 'u2', 'nobody'];
          const store = await env.platform.online();
          tiledStates += (await store.read('hot', keys)).states.filter((state) => state?.tiles !== undefined).length;
          const check = (where: string, k: string, t: number, got: Record<string, unknown>) => {
            for (const [column, feature] of Object.entries(REF)) {
              expect({ where, k, t, column, value: got[column] ?? null }).toEqual({ where, k, t, column, value: referenceValue(ref, k, t, feature) });
            }
          };
          const latest = await latestSnapshots(env.platform.metadata, env.project);
          for (const delta of [0, ...later]) {
            const t = env.clock.now + delta;
            const response = await getOnlineFeatures(env.project, store, { service: 'all', entities: { k: keys } }, t, latest);
            response.rows.forEach((row, r) => check('online', keys[r]!, t, row));
          }
          await runtime.commitNow();
          const times = [env.clock.now, ...later.map((d) => env.clock.now + d), ...ref.filter((_, i) => i % 7 === 0).map((e) => e.ts + 3)];
          await checkDataset(env, keys, times, check);
        } finally {
          await runtime.close();
          await env.dispose();
        }
      }),
      { numRuns: 10 },
    );
    // The runs did hold tiles (else this would test raw events only).
    expect(tiledStates).toBeGreaterThan(0);
  });
});
