import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compileProject, count, countDistinct, defineProject, entity, featureService, featureView, field, last, lastN, max, min, avg, streamSource, sum } from '../src/definitions/index.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { referenceValue, type RefEvent, type RefFeature, type RefValue } from './support/reference.js';
import { checkDataset, eventJson, parseExact, streamOps } from './support/stream-ops.js';
import { tempPlatform } from './support/temp-platform.js';

const key = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({
  name: 'events', schema: { id: 'string', k: 'string', v: 'float64', s: 'string', i: 'int64', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'id', allowedLateness: '30ms', maxClockSkew: '5ms',
});
const stats = featureView({
  name: 'stats', entity: key, source: events, features: {
    n_all: count(), n_10: count({ window: '10ms' }), sum_20: sum('v', { window: '20ms' }), sum_all: sum('v'), avg_50: avg('v', { window: '50ms' }),
    min_10: min('v', { window: '10ms' }), max_all: max('v'), max_s_all: max('s'), distinct_20: countDistinct('s', { window: '20ms' }),
    last_v: last('v'), last_s_10: last('s', { window: '10ms' }), sum_i_all: sum('i'), last_i: last('i'),
    // Hopped windows: the tail moves in hops (7 ms is aligned with no start time).
    sum_hop: sum('v', { window: '21ms', hop: '7ms' }), n_hop: count({ window: '10ms', hop: '5ms' }), max_hop: max('v', { window: '35ms', hop: '7ms' }),
    s_3: lastN('s', 3), i_2_20: lastN('i', 2, { window: '20ms' }),
  },
});
const latest = featureView({ name: 'latest', entity: key, source: events, ttl: '15ms', features: { v: field('v'), s: field('s') } });
const spec = defineProject({ name: 'stream_prop', entities: [key], sources: [events], featureViews: [stats, latest], featureServices: [featureService({ name: 'all', features: [stats, latest] })] });
const REF: Record<string, RefFeature> = Object.fromEntries(
  compileProject(spec).featureViews.flatMap((view) => view.features.map((f) => [`${view.name}__${f.name}`, { fn: f.fn, column: f.column, windowMs: f.windowMs, hopMs: f.hopMs, n: f.n, ttlMs: f.fn === 'field' ? view.ttlMs : undefined }])),
);

const op = streamOps();
const json = eventJson;

describe('streams: online == dataset == brute-force reference', () => {
  test('random pushes (out of order, late, future, duplicate ids), materializes, lake commits and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(Date.parse('2024-01-01T00:00:00Z'), -20), fc.array(op, { minLength: 1, maxLength: 14 }), fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 3 }), async (t0, ops, later) => {
        const env = await tempPlatform(spec, t0, { threads: 2 });
        let runtime: StreamRuntime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
        try {
          const ref: RefEvent[] = [];
          const seen = new Set<number>();
          let order = 0;
          // What serving answered at times no later acknowledgement can precede: an as-known
          // dataset must give exactly these values.
          const answered: { k: string; t: number; row: Record<string, unknown> }[] = [];
          const keysAll = ['u1', 'u2', 'u3', 'nobody'];
          // A rejected event handed in again (the same text) is dead-lettered once.
          const rejected = new Set<string>();
          for (const step of ops) {
            if (step.kind === 'advance') {
              if (step.ms >= 2) {
                const t = env.clock.now + 1;
                const response = await getOnlineFeatures(env.project, await env.platform.online(), { service: 'all', entities: { k: keysAll } }, t, await latestSnapshots(env.platform.metadata, env.project));
                response.rows.forEach((row, r) => answered.push({ k: keysAll[r]!, t, row }));
              }
              env.clock.now += step.ms;
            }
            else if (step.kind === 'commit') await runtime.commitNow();
            else if (step.kind === 'materialize') await materialize(env.platform, env.project);
            else if (step.kind === 'restart') {
              await runtime.close();
              runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
            } else if (step.kind === 'push') {
              const ack = env.clock.now;
              const outcome = await runtime.processor.append('events', { texts: step.events.map((e) => json(e, ack + e.offset)) }, 'push');
              let duplicates = 0;
              for (const e of step.events) {
                if (e.offset < -30 || e.offset > 5) continue;
                if (seen.has(e.id)) {
                  duplicates++;
                  continue;
                }
                seen.add(e.id);
                ref.push({ key: e.key, ts: ack + e.offset, order: order++, values: { v: e.v, s: e.s, i: e.i }, knownAt: ack } as RefEvent);
              }
              // A refused event sent again in the same push is a duplicate of it (one rejection, one dead letter).
              const refused = step.events.filter((e) => e.offset < -30 || e.offset > 5).map((e) => json(e, ack + e.offset));
              for (const text of refused) rejected.add(text);
              const refusedOnce = new Set(refused).size;
              expect({ accepted: outcome.accepted, duplicates: outcome.duplicates, rejected: outcome.rejected.length }).toEqual({
                accepted: step.events.length - refused.length - duplicates,
                duplicates: duplicates + refused.length - refusedOnce,
                rejected: refusedOnce,
              });
            }
          }
          const keys = ['u1', 'u2', 'u3', 'nobody'];
          const store = await env.platform.online();
          const check = (where: string, k: string, t: number, got: Record<string, unknown>, events: RefEvent[] = ref) => {
            for (const [column, feature] of Object.entries(REF)) {
              const want: RefValue = referenceValue(events, k, t, feature);
              expect({ where, k, t, column, value: got[column] ?? null }).toEqual({ where, k, t, column, value: want });
            }
          };
          for (const delta of [0, ...later]) {
            const t = env.clock.now + delta;
            const response = await getOnlineFeatures(env.project, store, { service: 'all', entities: { k: keys } }, t, await latestSnapshots(env.platform.metadata, env.project));
            response.rows.forEach((row, r) => check('online', keys[r]!, t, row));
          }
          // Everything reaches the lake exactly once, and the rejected events the dead-letter store.
          await runtime.commitNow();
          const snapshot = await env.platform.metadata.latestSnapshot('events');
          expect(snapshot?.rowCount ?? 0).toBe(ref.length);
          expect(await env.platform.metadata.countDeadLetters('events')).toBe(rejected.size);
          const times = [env.clock.now, ...ref.map((e) => e.ts), ...ref.map((e) => e.ts + 10)];
          await checkDataset(env, keys, times, check);
          if (answered.length > 0) {
            const known = join(env.dir, 'known.jsonl');
            writeFileSync(known, answered.map((a) => JSON.stringify({ k: a.k, ts: new Date(a.t).toISOString() })).join('\n') + '\n');
            const knownOut = join(env.dir, 'known-out.jsonl');
            await buildDataset(env.platform, env.project, { spine: known, out: knownOut, service: 'all', asKnown: true });
            const asKnown = readFileSync(knownOut, 'utf8').trim().split('\n').map(parseExact);
            answered.forEach((a, i) => {
              for (const column of Object.keys(REF)) expect({ k: a.k, t: a.t, column, value: asKnown[i]![column] ?? null }).toEqual({ k: a.k, t: a.t, column, value: a.row[column] ?? null });
              // And both are the reference over the events known before t.
              check('as-known', a.k, a.t, Object.fromEntries(Object.entries(asKnown[i]!).filter(([c]) => c in REF)), ref.filter((e) => (e as RefEvent & { knownAt: number }).knownAt < a.t));
            });
          }
        } finally {
          await runtime.close();
          await env.dispose();
        }
      }),
      { numRuns: 25 },
    );
  });
});
