import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { avg, batchSource, compileProject, count, countDistinct, defineProject, entity, featureService, featureView, field, last, max, min, sum } from '../src/definitions/index.js';
import { writeLakeFile } from '../src/ingest/commit-ingest.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { referenceValue, type RefEvent, type RefFeature, type RefValue } from './support/reference.js';
import { tempPlatform } from './support/temp-platform.js';

const key = entity({ name: 'user', joinKey: 'k' });
const events = batchSource({ name: 'events', schema: { k: 'string', v: 'float64', s: 'string', b: 'bool', i: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({
  name: 'stats', entity: key, source: events,
  features: {
    n_all: count(),
    n_10: count({ window: '10ms' }),
    n_v_20: count('v', { window: '20ms' }),
    sum_20: sum('v', { window: '20ms' }),
    sum_all: sum('v'),
    avg_50: avg('v', { window: '50ms' }),
    min_10: min('v', { window: '10ms' }),
    max_all: max('v'),
    min_s_20: min('s', { window: '20ms' }),
    max_s_30: max('s', { window: '30ms' }),
    distinct_20: countDistinct('s', { window: '20ms' }),
    distinct_all: countDistinct('v'),
    distinct_b_50: countDistinct('b', { window: '50ms' }),
    last_v: last('v'),
    last_s_10: last('s', { window: '10ms' }),
    last_b_30: last('b', { window: '30ms' }),
    sum_i_20: sum('i', { window: '20ms' }),
    max_i_30: max('i', { window: '30ms' }),
    last_i: last('i'),
  },
});
const latest = featureView({ name: 'latest', entity: key, source: events, ttl: '15ms', features: { v: field('v'), s: field('s'), i: field('i') } });
const spec = defineProject({ name: 'known', entities: [key], sources: [events], featureViews: [stats, latest], featureServices: [featureService({ name: 'all', features: [stats, latest] })] });

// What each output column computes, read from the definitions as the user wrote them.
const REF: Record<string, RefFeature> = Object.fromEntries(
  compileProject(spec).featureViews.flatMap((view) =>
    view.features.map((f) => [`${view.name}__${f.name}`, { fn: f.fn, column: f.column, windowMs: f.windowMs, ttlMs: f.fn === 'field' ? view.ttlMs : undefined }]),
  ),
);

/**
 * The as-known rule, written from the words and nothing else: the row at t is computed
 * from the events with ts < t and known_at < t. The reference keeps the events known before t,
 * then applies the event-time semantics to them.
 */
function expected(ref: readonly (RefEvent & { knownAt: number })[], k: string, t: number, feature: RefFeature, asKnown: boolean): RefValue {
  return referenceValue(asKnown ? ref.filter((e) => e.knownAt < t) : ref, k, t, feature);
}

const value = fc.oneof(fc.constant(null), fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 1, 2.5, -7.25, 100));
const text = fc.oneof(fc.constant(null), fc.constantFrom('a', 'b', 'B', 'aa', '\u{1F600}', 'é'));
const flag = fc.oneof(fc.constant(null), fc.boolean());
const integer = fc.oneof(fc.constant(null), fc.integer({ min: -50, max: 50 }).map(BigInt), fc.constantFrom(2n ** 63n - 1n, 2n ** 53n + 1n));
// Hot-spot timestamps make ties common; delays make events known late, some much later than the
// windows they fall in.
const eventArb = fc.record({
  key: fc.constantFrom('u1', 'u2'),
  ts: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.constantFrom(10, 20, 30)),
  delay: fc.oneof(fc.constant(0), fc.constantFrom(1, 5, 10), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 100 })),
  v: value, s: text, b: flag, i: integer,
});
// How a batch reaches the lake: a file ingested with its event times as known, a file ingested
// at one instant (`ingestion`, the clock then: maybe before some of its events), or a stream
// writer's micro-batch, each event known at its own acknowledgement time (ts + delay).
const batchArb = fc.record({ events: fc.array(eventArb, { minLength: 0, maxLength: 20 }), way: fc.constantFrom('event', 'ingestion', 'stream'), clock: fc.oneof(fc.integer({ min: -10, max: 120 }), fc.constantFrom(20, 30, 40)) });
const scenario = fc.record({
  t0: fc.constantFrom(Date.parse('2024-01-01T00:00:00Z'), -40),
  batches: fc.array(batchArb, { minLength: 1, maxLength: 4 }),
  // Spine times hit the instants events become known (hot spots + delays) as often as not.
  spineTimes: fc.array(fc.oneof(fc.integer({ min: -5, max: 160 }), fc.constantFrom(10, 11, 15, 20, 21, 25, 30, 31, 35, 40)), { minLength: 1, maxLength: 12 }),
});

type GeneratedEvent = { key: string; ts: number; delay: number; v: number | null; s: string | null; b: boolean | null; i: bigint | null };
const sqlText = (v: unknown) => (v === null ? 'NULL::VARCHAR' : `'${String(v).replaceAll("'", "''")}'`);

describe('dataset build: event time and as known == a brute-force reference', () => {
  test('for random events known at random times (files by event or ingestion time, stream micro-batches), every aggregation with windows, random spine times', async () => {
    expect(Object.keys(REF)).toHaveLength(22);
    await fc.assert(
      fc.asyncProperty(scenario, async ({ t0, batches, spineTimes }) => {
        const env = await tempPlatform(spec, t0, { threads: 2 });
        try {
          const engine = await env.platform.engine();
          const source = env.project.sources[0]!;
          let order = 0;
          const ref: (RefEvent & { knownAt: number })[] = [];
          for (const [n, batch] of batches.entries()) {
            env.clock.now = t0 + batch.clock;
            const knownAt = (e: GeneratedEvent) => (batch.way === 'event' ? t0 + e.ts : batch.way === 'ingestion' ? t0 + batch.clock : t0 + e.ts + e.delay);
            const iso = (e: GeneratedEvent) => new Date(t0 + e.ts).toISOString();
            if (batch.way === 'stream') {
              if (batch.events.length === 0) continue;
              // What a stream writer does: checked text rows with their acknowledgement time.
              const rows = batch.events.map((e, line) => `(${line + 1}, ${[e.key, e.v, e.s, e.b, e.i, iso(e)].map(sqlText).join(', ')}, ${knownAt(e)}::BIGINT, '')`);
              await engine.run(`CREATE OR REPLACE TEMP TABLE ingest_checked AS SELECT * FROM (VALUES ${rows.join(', ')}) t(_n, k, v, s, b, i, ts, _ack, _reason)`);
              const file = await writeLakeFile(env.platform, source, rows.length, `stream-${n}`, { mode: 'sql', sql: '_ack' });
              await env.platform.metadata.commitIngest({ source: 'events', addedFiles: [file], addedRows: rows.length, contentHash: `stream-${n}`, force: true }, []);
              await engine.run('DROP TABLE ingest_checked');
            } else {
              const path = join(env.dir, `batch${n}.jsonl`);
              writeFileSync(path, batch.events.map((e) => `{"k":"${e.key}","v":${e.v},"s":${JSON.stringify(e.s)},"b":${e.b},"i":${e.i === null ? 'null' : e.i.toString()},"ts":"${iso(e)}"}`).join('\n') + '\n');
              await ingestFile(env.platform, env.project, 'events', path, { force: true, knownAt: batch.way });
            }
            for (const e of batch.events) ref.push({ key: e.key, ts: t0 + e.ts, order: order++, knownAt: knownAt(e), values: { v: e.v, s: e.s, b: e.b, i: e.i } });
          }
          const keys = ['u1', 'u2', 'nobody'];
          const spineRows = keys.flatMap((k) => spineTimes.map((t) => ({ k, ts: t0 + t })));
          const spine = join(env.dir, 'spine.jsonl');
          writeFileSync(spine, spineRows.map((r) => JSON.stringify({ k: r.k, ts: new Date(r.ts).toISOString() })).join('\n') + '\n');
          for (const asKnown of [false, true]) {
            const out = join(env.dir, `out-${asKnown}.parquet`);
            await buildDataset(env.platform, env.project, { spine, out, service: 'all', asKnown });
            const dataset = await engine.all<Record<string, RefValue>>(`SELECT * FROM read_parquet('${out}')`);
            expect(dataset.length).toBe(spineRows.length);
            spineRows.forEach((row, r) => {
              for (const [column, feature] of Object.entries(REF)) {
                expect({ asKnown, row, column, value: dataset[r]![column] }).toEqual({ asKnown, row, column, value: expected(ref, row.k, row.ts, feature, asKnown) });
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
