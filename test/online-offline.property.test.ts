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
import { duckDbEngine } from '../src/storage/engine/duckdb-engine.js';
import { referenceValue, type RefEvent, type RefFeature, type RefValue } from './support/reference.js';
import { tempPlatform } from './support/temp-platform.js';

const key = entity({ name: 'user', joinKey: 'k' });
const events = batchSource({ name: 'events', schema: { k: 'string', v: 'float64', s: 'string', b: 'bool', i: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const FEATURES = {
  n_all: count(),
  n_v_20: count('v', { window: '20ms' }),
  n_10: count({ window: '10ms' }),
  sum_20: sum('v', { window: '20ms' }),
  sum_all: sum('v'),
  avg_50: avg('v', { window: '50ms' }),
  avg_all: avg('v'),
  min_10: min('v', { window: '10ms' }),
  max_all: max('v'),
  min_s_20: min('s', { window: '20ms' }),
  max_s_all: max('s'),
  distinct_20: countDistinct('s', { window: '20ms' }),
  distinct_s_all: countDistinct('s'),
  distinct_all: countDistinct('v'),
  last_v: last('v'),
  last_s_10: last('s', { window: '10ms' }),
  last_b: last('b'),
  distinct_b_50: countDistinct('b', { window: '50ms' }),
  distinct_b_all: countDistinct('b'),
  sum_i_20: sum('i', { window: '20ms' }),
  sum_i_all: sum('i'),
  avg_i_all: avg('i'),
  max_i: max('i'),
  min_i_20: min('i', { window: '20ms' }),
  last_i: last('i'),
  distinct_i: countDistinct('i', { window: '50ms' }),
  last_ts_20: last('ts', { window: '20ms' }),
  min_ts: min('ts'),
};
// Hopped windows (floor(t - W, hop) <= ts < t), beside an exact one of the same length: a hop
// that divides every t0, one that does not (7ms), and a hop equal to the window. A view of its
// own, so that the hopped windows reach further back than any exact one (the online horizon).
const HOPPED = {
  n_20: count({ window: '20ms' }),
  n_20_h5: count({ window: '20ms', hop: '5ms' }),
  sum_20_h5: sum('v', { window: '20ms', hop: '5ms' }),
  avg_20_h5: avg('v', { window: '20ms', hop: '5ms' }),
  min_s_21_h7: min('s', { window: '21ms', hop: '7ms' }),
  distinct_i_21_h7: countDistinct('i', { window: '21ms', hop: '7ms' }),
  last_ts_21_h7: last('ts', { window: '21ms', hop: '7ms' }),
  last_v_10_h10: last('v', { window: '10ms', hop: '10ms' }),
  max_i_10_h10: max('i', { window: '10ms', hop: '10ms' }),
};
const stats = featureView({ name: 'stats', entity: key, source: events, features: FEATURES });
const hopped = featureView({ name: 'hopped', entity: key, source: events, features: HOPPED });
const latest = featureView({ name: 'latest', entity: key, source: events, ttl: '15ms', features: { v: field('v'), s: field('s'), b: field('b'), i: field('i'), ts: field('ts') } });
const spec = defineProject({ name: 'prop', entities: [key], sources: [events], featureViews: [stats, hopped, latest], featureServices: [featureService({ name: 'all', features: [stats, hopped, latest] })] });

// What each output column computes, read from the definitions as the user wrote them; the
// reference computes the values on its own.
const REF: Record<string, RefFeature> = Object.fromEntries(
  compileProject(spec).featureViews.flatMap((view) =>
    view.features.map((f) => [`${view.name}__${f.name}`, { fn: f.fn, column: f.column, windowMs: f.windowMs, hopMs: f.hopMs, ttlMs: f.fn === 'field' ? view.ttlMs : undefined }]),
  ),
);
// Timestamp-valued features are ISO-8601 strings at the edges.
const TIMESTAMP_VALUED = new Set(['stats__last_ts_20', 'stats__min_ts', 'hopped__last_ts_21_h7', 'latest__ts']);
const expected = (ref: RefEvent[], k: string, t: number, column: string, feature: RefFeature): RefValue => {
  const value = referenceValue(ref, k, t, feature);
  return TIMESTAMP_VALUED.has(column) && typeof value === 'number' ? new Date(value).toISOString() : value;
};

// Values chosen so that summation order would change results (0.1 + 0.2, 1e16 + 1) and nulls are common.
const value = fc.oneof(fc.constant(null), fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 1, 2.5, -7.25, 1 / 3, 100, 1e300));
// Text ordered by code point: a surrogate pair (U+1F600) sorts after U+FFFD.
const text = fc.oneof(fc.constant(null), fc.constantFrom('a', 'b', 'c', 'B', 'aa', '\u{1F600}', '\uFFFD', 'é'));
const flag = fc.oneof(fc.constant(null), fc.boolean());
// int64 to the edges: exact beyond 2^53.
const integer = fc.oneof(fc.constant(null), fc.integer({ min: -1000, max: 1000 }).map(BigInt), fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, 2n ** 52n));
// Hot-spot timestamps make ties (several events at one instant) common.
const eventArb = fc.record({ key: fc.constantFrom('u1', 'u2', 'u3'), ts: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.constantFrom(10, 20, 30)), v: value, s: text, b: flag, i: integer });
const FORMATS = ['csv', 'jsonl', 'parquet'] as const;
const scenario = fc.record({
  // Some histories straddle 1970, some are long before it.
  t0: fc.constantFrom(Date.parse('2024-01-01T00:00:00Z'), -40, Date.parse('1900-06-01T00:00:00Z')),
  batches: fc.array(fc.record({ events: fc.array(eventArb, { minLength: 0, maxLength: 25 }), format: fc.constantFrom(...FORMATS) }), { minLength: 1, maxLength: 3 }),
  late: fc.record({ events: fc.array(eventArb, { minLength: 1, maxLength: 10 }), format: fc.constantFrom(...FORMATS) }),
  // Times on hop boundaries are common: t0 is a multiple of 10, so these are boundaries of the
  // 5ms and 10ms hops (t0's offset from a multiple of 7 differs per t0: random times hit those).
  spineTimes: fc.array(fc.oneof(fc.integer({ min: -5, max: 140 }), fc.constantFrom(0, 20, 35, 40, 70)), { minLength: 1, maxLength: 12 }),
  asOf: fc.integer({ min: 0, max: 100 }),
  later: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 4 }),
});

type GeneratedEvent = { key: string; ts: number; v: number | null; s: string | null; b: boolean | null; i: bigint | null };
type Batch = { events: GeneratedEvent[]; format: (typeof FORMATS)[number] };

async function writeBatch(dir: string, name: string, t0: number, batch: Batch): Promise<string> {
  const iso = (e: GeneratedEvent) => new Date(t0 + e.ts).toISOString();
  const file = join(dir, `${name}.${batch.format}`);
  if (batch.format === 'jsonl') {
    // int64 as exact JSON digits, as a real export would write them.
    writeFileSync(file, batch.events.map((e) => `{"k":"${e.key}","v":${e.v},"s":${JSON.stringify(e.s)},"b":${e.b},"i":${e.i === null ? 'null' : e.i.toString()},"ts":"${iso(e)}"}`).join('\n') + '\n');
  } else if (batch.format === 'csv') {
    const cell = (v: unknown) => (v === null ? '' : `"${String(v).replaceAll('"', '""')}"`);
    writeFileSync(file, ['k,v,s,b,i,ts', ...batch.events.map((e) => [e.key, e.v, e.s, e.b, e.i, iso(e)].map(cell).join(','))].join('\n') + '\n');
  } else {
    const engine = await duckDbEngine({ threads: 1 });
    const sqlText = (v: string | null) => (v === null ? 'NULL' : `'${v.replaceAll("'", "''")}'`);
    const rows = batch.events.map((e) =>
      `(${sqlText(e.key)}, ${e.v === null ? 'NULL' : e.v}::DOUBLE, ${sqlText(e.s)}, ${e.b === null ? 'NULL' : e.b}::BOOLEAN, ${e.i === null ? "NULL" : `(${e.i.toString()})`}::BIGINT, epoch_ms(${t0 + e.ts}::BIGINT))`,
    );
    const select = rows.length === 0
      ? "SELECT NULL::VARCHAR AS k, NULL::DOUBLE AS v, NULL::VARCHAR AS s, NULL::BOOLEAN AS b, NULL::BIGINT AS i, NULL::TIMESTAMP AS ts WHERE FALSE"
      : `SELECT * FROM (VALUES ${rows.join(', ')}) t(k, v, s, b, i, ts)`;
    await engine.run(`COPY (${select}) TO '${file}' (FORMAT PARQUET)`);
    await engine.close();
  }
  return file;
}

/** JSON with int64 beyond 2^53 kept exact (DuckDB writes them as plain digits). */
function parseExact(line: string): Record<string, unknown> {
  const quoted = line.replace(/([:,[]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"__int64:$2"');
  return JSON.parse(quoted, (_k, v) => (typeof v === 'string' && v.startsWith('__int64:') ? normalInt(BigInt(v.slice(8))) : v)) as Record<string, unknown>;
}
const normalInt = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

describe('online == offline == brute-force reference', () => {
  test('for random events (nulls, ties, out-of-order arrival, window edges, hopped windows, int64 edges, pre-1970, every input format) and random query times', async () => {
    expect(Object.keys(REF)).toHaveLength(42);
    await fc.assert(
      fc.asyncProperty(scenario, async ({ t0, batches, late, spineTimes, asOf, later }) => {
        const env = await tempPlatform(spec, t0 + asOf, { threads: 2 });
        try {
          let order = 0;
          const ref: RefEvent[] = [];
          const ingest = async (batch: Batch, name: string) => {
            await ingestFile(env.platform, env.project, 'events', await writeBatch(env.dir, name, t0, batch), { force: true });
            for (const e of batch.events) ref.push({ key: e.key, ts: t0 + e.ts, order: order++, values: { v: e.v, s: e.s, b: e.b, i: e.i, ts: t0 + e.ts } });
          };
          for (const [i, batch] of batches.entries()) await ingest(batch, `batch${i}`);
          const keys = ['u1', 'u2', 'u3', 'nobody'];
          // Offline: a spine over every key and random times, including window edges of events.
          const spineRows = keys.flatMap((k) => spineTimes.map((t) => ({ k, ts: t0 + t })));
          const spine = join(env.dir, 'spine.jsonl');
          writeFileSync(spine, spineRows.map((r) => JSON.stringify({ k: r.k, ts: new Date(r.ts).toISOString() })).join('\n') + '\n');
          const out = join(env.dir, 'out.jsonl');
          await buildDataset(env.platform, env.project, { spine, out, service: 'all' });
          const dataset = readFileSync(out, 'utf8').trim().split('\n').map(parseExact);
          expect(dataset.length).toBe(spineRows.length);
          spineRows.forEach((row, i) => {
            for (const [column, feature] of Object.entries(REF)) {
              expect({ row, column, value: dataset[i]![column] }).toEqual({ row, column, value: expected(ref, row.k, row.ts, column, feature) });
            }
          });
          // Online: materialize at asOf, then serve at asOf and later times, as windows keep
          // expiring; then ingest late events (older than asOf) and materialize again.
          const store = await env.platform.online();
          for (const round of [0, 1]) {
            if (round === 1) await ingest(late, 'late');
            await materialize(env.platform, env.project);
            for (const delta of [0, ...later]) {
              const t = t0 + asOf + delta;
              const response = await getOnlineFeatures(env.project, store, { service: 'all', entities: { k: keys } }, t, await latestSnapshots(env.platform.metadata, env.project));
              expect(response.asOf).toBe(new Date(t).toISOString());
              response.rows.forEach((r, i) => {
                for (const [column, feature] of Object.entries(REF)) {
                  expect({ k: keys[i], t, column, value: r[column] }).toEqual({ k: keys[i], t, column, value: expected(ref, keys[i]!, t, column, feature) });
                }
              });
            }
          }
        } finally {
          await env.dispose();
        }
      }),
      { numRuns: 30 },
    );
  });
});
