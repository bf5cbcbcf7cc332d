import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureService, featureView, field, last, max, streamSource, sum } from '../src/definitions/index.js';
import { materialize } from '../src/processing/materialize.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { referenceValue, type RefEvent, type RefFeature, type RefValue } from './support/reference.js';
import { eventJson, checkDataset, streamOps, type GeneratedEvent } from './support/stream-ops.js';
import { tempPlatform } from './support/temp-platform.js';

// A view with a filter and derived columns of every type, fed by pushes, commits, materializes and
// restarts: online == dataset == a reference that applies the transforms in plain JavaScript.
const key = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({
  name: 'events', schema: { id: 'string', k: 'string', v: 'float64', s: 'string', i: 'int64', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'id', allowedLateness: '30ms', maxClockSkew: '5ms',
});
const shaped = featureView({
  name: 'shaped', entity: key, source: events,
  filter: "s IN ('a', 'B') OR v > 1",
  columns: {
    v2: { type: 'float64', sql: 'v * 2 + coalesce(i, 0)' },
    tag: { type: 'string', sql: "upper(s) || '_' || CAST(i % 7 AS VARCHAR)" },
    big: { type: 'int64', sql: 'i * 3' },
    pos: { type: 'bool', sql: 'v > 0' },
    minute: { type: 'int64', sql: "epoch_ms(date_trunc('minute', ts))" },
  },
  features: {
    n_10: count({ window: '10ms' }), sum_v2_20: sum('v2', { window: '20ms' }), sum_v2: sum('v2'), last_tag: last('tag'), max_big: max('big'),
    pos: field('pos'), minute: last('minute'),
  },
});
const spec = defineProject({ name: 'rows_prop', entities: [key], sources: [events], featureViews: [shaped], featureServices: [featureService({ name: 'all', features: [shaped] })] });
const project = compileProject(spec);
const REF: Record<string, RefFeature> = Object.fromEntries(
  project.featureViews[0]!.features.map((f) => [`shaped__${f.name}`, { fn: f.fn, column: f.column, windowMs: f.windowMs, ttlMs: undefined }]),
);

const INT64_MAX = 2n ** 63n - 1n;
type Generated = GeneratedEvent;

/** The view's transforms, written from the SQL semantics (NULL propagates, a failed value is NULL, a NULL filter drops the row). */
function transformed(e: Generated, ts: number): Record<string, RefValue> | undefined {
  const keep = e.s === 'a' || e.s === 'B' || (e.v !== null && e.v > 1);
  if (!keep) return undefined;
  const big = e.i === null ? null : e.i * 3n;
  const rem = e.i === null ? null : e.i % 7n;
  return {
    v2: e.v === null ? null : e.v * 2 + (e.i === null ? 0 : Number(e.i)),
    tag: e.s === null || rem === null ? null : `${e.s.toUpperCase()}_${rem}`,
    big: big === null || big > INT64_MAX || big < -INT64_MAX - 1n ? null : big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big,
    pos: e.v === null ? null : e.v > 0,
    minute: Math.floor(ts / 60_000) * 60_000,
  };
}

const op = streamOps([INT64_MAX, 2n ** 53n + 1n, -(2n ** 62n)], [-4]);
const json = eventJson;

describe('row transforms: online == dataset == reference', () => {
  test('filter and derived columns of every type, through pushes, commits, materializes and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(Date.parse('2024-01-01T00:00:59.990Z'), -20), fc.array(op, { minLength: 1, maxLength: 14 }), fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 3 }), async (t0, ops, later) => {
        const env = await tempPlatform(spec, t0, { threads: 2 });
        let runtime: StreamRuntime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
        try {
          const ref: RefEvent[] = [];
          const seen = new Set<number>();
          let order = 0;
          for (const step of ops) {
            if (step.kind === 'advance') env.clock.now += step.ms;
            else if (step.kind === 'commit') await runtime.commitNow();
            else if (step.kind === 'materialize') await materialize(env.platform, env.project);
            else if (step.kind === 'restart') {
              await runtime.close();
              runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
            } else if (step.kind === 'push') {
              const ack = env.clock.now;
              await runtime.processor.append('events', { texts: step.events.map((e) => json(e, ack + e.offset)) }, 'push');
              for (const e of step.events) {
                if (e.offset < -30 || e.offset > 5 || seen.has(e.id)) continue;
                seen.add(e.id);
                const values = transformed(e, ack + e.offset);
                if (values !== undefined) ref.push({ key: e.key, ts: ack + e.offset, order: order++, values });
              }
            }
          }
          const keys = ['u1', 'u2', 'u3', 'nobody'];
          const check = (where: string, k: string, t: number, got: Record<string, unknown>) => {
            for (const [column, feature] of Object.entries(REF)) {
              expect({ where, k, t, column, value: got[column] ?? null }).toEqual({ where, k, t, column, value: referenceValue(ref, k, t, feature) });
            }
          };
          const store = await env.platform.online();
          for (const delta of [0, ...later]) {
            const t = env.clock.now + delta;
            const response = await getOnlineFeatures(env.project, store, { service: 'all', entities: { k: keys } }, t, await latestSnapshots(env.platform.metadata, env.project));
            response.rows.forEach((row, r) => check('online', keys[r]!, t, row));
          }
          await runtime.commitNow();
          const times = [env.clock.now, ...ref.map((e) => e.ts), ...ref.map((e) => e.ts + 10)];
          await checkDataset(env, keys, times, check);
        } finally {
          await runtime.close();
          await env.dispose();
        }
      }),
      { numRuns: 25 },
    );
  });
});
