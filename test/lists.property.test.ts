import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, field, last, lastN, streamSource, type FeatureViewSpec, type SourceSpec } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { referenceValue, type RefEvent, type RefFeature, type RefValue } from './support/reference.js';
import { tempPlatform } from './support/temp-platform.js';

// Vectors and lists through every path: files (JSONL, CSV, Parquet) and the push API, online
// serving (materialized and streamed) and datasets (Parquet), against the brute-force reference.
// A float32 vector's reference value is each input rounded to float32 (Math.fround), widened;
// -0 is stored as 0.

const key = entity({ name: 'user', joinKey: 'k' });
const schema = { k: 'string', emb: 'float32[2]', tags: 'string[]', s: 'string', i: 'int64', v: 'float64', ts: 'timestamp' } as const;
function views(source: SourceSpec): FeatureViewSpec[] {
  return [
    featureView({
      name: 'lists', entity: key, source, features: {
        last_emb: last('emb'), last_emb_10: last('emb', { window: '10ms' }), last_tags: last('tags'), n_emb_20: count('emb', { window: '20ms' }),
        s_3: lastN('s', 3), s_2_10: lastN('s', 2, { window: '10ms' }), i_2_h: lastN('i', 2, { window: '20ms', hop: '5ms' }), v_4: lastN('v', 4), v_1_20: lastN('v', 1, { window: '20ms' }),
      },
    }),
    featureView({ name: 'latest', entity: key, source, ttl: '15ms', features: { emb: field('emb'), tags: field('tags') } }),
  ];
}
const project = (source: SourceSpec) => {
  const [a, b] = views(source);
  return defineProject({ name: 'lists_prop', entities: [key], sources: [source], featureViews: [a!, b!], featureServices: [featureService({ name: 'all', features: [a!, b!] })] });
};
const batchSpec = project(batchSource({ name: 'events', schema, timestamp: 'ts' }));
// Events up to 30 ms late: as the clock moves on, retained events fold into the online base state.
const streamSpec = project(streamSource({ name: 'events', schema, timestamp: 'ts', allowedLateness: '30ms', maxClockSkew: '5ms' }));
const REF: Record<string, RefFeature> = Object.fromEntries(
  compileProject(batchSpec).featureViews.flatMap((view) => view.features.map((f) => [`${view.name}__${f.name}`, { fn: f.fn, column: f.column, windowMs: f.windowMs, hopMs: f.hopMs, n: f.n, ttlMs: f.fn === 'field' ? view.ttlMs : undefined }])),
);

// Any double within float32 range: the stored value is its nearest float32. -0 and subnormals included.
const float = fc.oneof(fc.double({ min: -3e38, max: 3e38, noNaN: true }), fc.float({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0.1, 1 / 3, -0, 1e-45, 16777217));
const eventArb = fc.record({
  key: fc.constantFrom('u1', 'u2'),
  ts: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constantFrom(10, 20)),
  emb: fc.option(fc.tuple(float, float), { freq: 3 }),
  tags: fc.option(fc.array(fc.constantFrom('a', 'b', 'é', '\u{1F600}', ''), { maxLength: 3 }), { freq: 3 }),
  s: fc.option(fc.constantFrom('x', 'y', 'z', 'w')),
  i: fc.option(fc.oneof(fc.integer({ min: -5, max: 5 }).map(BigInt), fc.constantFrom(2n ** 63n - 1n, 2n ** 53n + 1n))),
  v: fc.option(fc.constantFrom(0.1, -2.5, 1e300, 7)),
});
type Generated = { key: string; ts: number; emb: [number, number] | null; tags: string[] | null; s: string | null; i: bigint | null; v: number | null };

const num = (x: number) => (Object.is(x, -0) ? '-0.0' : String(x));
const jsonList = (xs: readonly (number | string)[] | null) => (xs === null ? 'null' : `[${xs.map((x) => (typeof x === 'number' ? num(x) : JSON.stringify(x))).join(',')}]`);
const json = (e: Generated, t0: number) =>
  `{"k":"${e.key}","emb":${jsonList(e.emb)},"tags":${jsonList(e.tags)},"s":${JSON.stringify(e.s)},"i":${e.i === null ? 'null' : e.i.toString()},"v":${e.v === null ? 'null' : num(e.v)},"ts":"${new Date(t0 + e.ts).toISOString()}"}`;

function csv(events: readonly Generated[], t0: number): string {
  const cell = (v: string | null) => (v === null ? '' : `"${v.replaceAll('"', '""')}"`);
  const rows = events.map((e) => [e.key, e.emb && jsonList(e.emb), e.tags && jsonList(e.tags), e.s, e.i?.toString() ?? null, e.v === null ? null : num(e.v), new Date(t0 + e.ts).toISOString()].map(cell).join(','));
  return ['k,emb,tags,s,i,v,ts', ...rows].join('\n') + '\n';
}

function parquetSql(events: readonly Generated[], t0: number): string {
  const text = (v: string | null) => (v === null ? 'NULL' : `'${v.replaceAll("'", "''")}'`);
  // Vectors as DOUBLE lists: ingest rounds them to float32 as it does JSON numbers.
  const rows = events.map((e) => `(${text(e.key)}, ${e.emb === null ? 'NULL' : `[${e.emb.map((x) => `${num(x)}::DOUBLE`).join(', ')}]`}::DOUBLE[], ${e.tags === null ? 'NULL' : `[${e.tags.map(text).join(', ')}]::VARCHAR[]`}, ${text(e.s)}, ${e.i === null ? 'NULL' : `(${e.i})`}::BIGINT, ${e.v === null ? 'NULL' : num(e.v)}::DOUBLE, epoch_ms(${t0 + e.ts}::BIGINT))`);
  return rows.length === 0
    ? 'SELECT NULL::VARCHAR AS k, NULL::DOUBLE[] AS emb, NULL::VARCHAR[] AS tags, NULL::VARCHAR AS s, NULL::BIGINT AS i, NULL::DOUBLE AS v, NULL::TIMESTAMP AS ts WHERE FALSE'
    : `SELECT * FROM (VALUES ${rows.join(', ')}) t(k, emb, tags, s, i, v, ts)`;
}

const refEvent = (e: Generated, t0: number, order: number): RefEvent => ({
  key: e.key, ts: t0 + e.ts, order,
  values: { emb: e.emb === null ? null : e.emb.map((x) => Math.fround(x) + 0), tags: e.tags, s: e.s, i: e.i, v: e.v },
});
const KEYS = ['u1', 'u2', 'nobody'];

/** Compares one served or dataset row with the reference, `-0` and `0` told apart (`Object.is`, as toEqual does). */
function check(where: string, ref: readonly RefEvent[], k: string, t: number, got: Record<string, unknown>): void {
  for (const [column, feature] of Object.entries(REF)) {
    const want: RefValue = referenceValue(ref, k, t, feature);
    expect({ where, k, t, column, value: got[column] ?? null }).toEqual({ where, k, t, column, value: want });
  }
}

async function checkDataset(env: Awaited<ReturnType<typeof tempPlatform>>, ref: readonly RefEvent[], times: readonly number[]): Promise<void> {
  const spineRows = KEYS.flatMap((k) => times.map((t) => ({ k, ts: t })));
  const spine = join(env.dir, 'spine.jsonl');
  writeFileSync(spine, spineRows.map((r) => JSON.stringify({ k: r.k, ts: new Date(r.ts).toISOString() })).join('\n') + '\n');
  const out = join(env.dir, 'out.parquet');
  await buildDataset(env.platform, env.project, { spine, out, service: 'all' });
  const engine = await env.platform.engine();
  const dataset = await engine.all<Record<string, unknown>>(`SELECT * FROM '${out}'`);
  spineRows.forEach((row, r) => check('dataset', ref, row.k, row.ts, dataset[r]!));
}

describe('vectors, lists and lastN: online == dataset == brute-force reference', () => {
  test('files in every format, materialized and served at random times, and a dataset', async () => {
    const scenario = fc.record({
      batches: fc.array(fc.record({ events: fc.array(eventArb, { maxLength: 15 }), format: fc.constantFrom('jsonl', 'csv', 'parquet') }), { minLength: 1, maxLength: 3 }),
      asOf: fc.integer({ min: 0, max: 70 }),
      later: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3 }),
      spineTimes: fc.array(fc.integer({ min: 0, max: 90 }), { minLength: 1, maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ batches, asOf, later, spineTimes }) => {
        const t0 = Date.parse('2024-01-01T00:00:00Z');
        const env = await tempPlatform(batchSpec, t0 + asOf, { threads: 2 });
        try {
          const ref: RefEvent[] = [];
          for (const [b, batch] of batches.entries()) {
            const file = join(env.dir, `b${b}.${batch.format}`);
            if (batch.format === 'jsonl') writeFileSync(file, batch.events.map((e) => json(e, t0)).join('\n') + '\n');
            else if (batch.format === 'csv') writeFileSync(file, csv(batch.events, t0));
            else await (await env.platform.engine()).run(`COPY (${parquetSql(batch.events, t0)}) TO '${file}' (FORMAT PARQUET)`);
            const result = await ingestFile(env.platform, env.project, 'events', file, { force: true });
            expect(result).toMatchObject({ accepted: batch.events.length, rejected: 0 });
            for (const e of batch.events) ref.push(refEvent(e, t0, ref.length));
          }
          await checkDataset(env, ref, spineTimes.map((t) => t0 + t));
          await materialize(env.platform, env.project);
          for (const delta of [0, ...later]) {
            const t = t0 + asOf + delta;
            const response = await getOnlineFeatures(env.project, await env.platform.online(), { service: 'all', entities: { k: KEYS } }, t, await latestSnapshots(env.platform.metadata, env.project));
            response.rows.forEach((row, r) => check('online', ref, KEYS[r]!, t, row));
          }
        } finally {
          await env.dispose();
        }
      }),
      { numRuns: Number(process.env.RUNS ?? 25) },
    );
  });

  test('pushed events, served from the stream as they arrive, then committed and built into a dataset', async () => {
    // Event times from 30 ms before the acknowledgement to 5 ms after it: none is refused.
    const streamed = eventArb.map((e) => ({ ...e, ts: e.ts % 36 }));
    // A materialize sets the online horizon to now minus the longest window (20 ms): events pushed
    // after it may be older than that (up to 30 ms late), and fold into the base state out of order.
    const scenario = fc.array(fc.record({ events: fc.array(streamed, { minLength: 1, maxLength: 8 }), advance: fc.integer({ min: 0, max: 40 }), materialize: fc.boolean() }), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(scenario, fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3 }), async (pushes, later) => {
        const t0 = Date.parse('2024-01-01T00:00:00Z');
        const env = await tempPlatform(streamSpec, t0, { threads: 2 });
        const runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
        try {
          const ref: RefEvent[] = [];
          for (const push of pushes) {
            if (push.materialize) await materialize(env.platform, env.project);
            const base = env.clock.now - 30;
            const outcome = await runtime.processor.append('events', { texts: push.events.map((e) => json(e, base)) }, 'push');
            expect(outcome.rejected).toEqual([]);
            for (const e of push.events) ref.push(refEvent(e, base, ref.length));
            env.clock.now += push.advance;
            for (const delta of [0, ...later]) {
              const t = env.clock.now + delta;
              const response = await getOnlineFeatures(env.project, await env.platform.online(), { service: 'all', entities: { k: KEYS } }, t, await latestSnapshots(env.platform.metadata, env.project));
              response.rows.forEach((row, r) => check('streamed', ref, KEYS[r]!, t, row));
            }
          }
          await runtime.commitNow();
          await checkDataset(env, ref, [env.clock.now, ...ref.map((e) => e.ts), ...ref.map((e) => e.ts + 10)]);
        } finally {
          await runtime.close();
          await env.dispose();
        }
      }),
      { numRuns: Number(process.env.RUNS ?? 20) },
    );
  });
});
