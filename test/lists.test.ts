import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, cdcSource, compileProject, count, defineProject, entity, featureView, field, last, lastN, max, streamSource, type FeatureSpec } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { createServer } from '../src/serving/http/server.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const user = entity({ name: 'user', joinKey: 'k' });
const schema = { k: 'string', emb: 'float32[3]', wide: 'float64[2]', tags: 'string[]', ids: 'int64[]', item: 'string', n: 'int64', ts: 'timestamp' } as const;
const views = (source: ReturnType<typeof batchSource> | ReturnType<typeof streamSource>) => [
  featureView({
    name: 'vec', entity: user, source, features: {
      emb: field('emb'), last_emb: last('emb'), wide: last('wide'), tags: last('tags'), ids: last('ids'), with_emb: count('emb'),
      items_3: lastN('item', 3), items_2_1h: lastN('item', 2, { window: '1h' }), ns_2: lastN('n', 2),
    },
  }),
];
const events = batchSource({ name: 'events', schema, timestamp: 'ts' });
const spec = defineProject({ name: 'lists', entities: [user], sources: [events], featureViews: views(events) });

let env: Awaited<ReturnType<typeof tempPlatform>> | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

/** A float32 vector as its exact values (the float32 widened to a double). */
const f32 = (xs: number[]) => xs.map(Math.fround);
const line = (row: Record<string, unknown>) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? `__${v}__` : v)).replace(/"__(-?\d+)__"/g, '$1');

describe('definitions', () => {
  test('vector and list types are accepted; a bad length, lists in sum/min/countDistinct and lastN of a bool are refused naming the feature', () => {
    const project = compileProject(spec);
    const vec = project.featureViews[0]!;
    expect(vec.features.find((f) => f.name === 'emb')!.valueType).toBe('float32[3]');
    expect(vec.features.find((f) => f.name === 'items_3')).toMatchObject({ fn: 'lastN', n: 3, valueType: 'string[]' });
    expect(vec.features.find((f) => f.name === 'ns_2')!.valueType).toBe('int64[]');
    const withSchema = (s: Record<string, string>) => () => defineProject({ name: 'p', entities: [user], sources: [batchSource({ name: 'e', schema: { k: 'string', ts: 'timestamp', ...s } as never, timestamp: 'ts' })], featureViews: [] });
    expect(withSchema({ v: 'float32[0]' })).toThrow(/column "v" has type "float32\[0\]"; the length of a vector type float32\[N\] must be a positive integer/);
    expect(withSchema({ v: 'float32[x]' })).toThrow(/must be a positive integer/);
    expect(withSchema({ v: 'bool[]' })).toThrow(/use one of .*float32\[N\]/);
    const withFeature = (feature: FeatureSpec, s: Record<string, string> = {}) => () => {
      const source = batchSource({ name: 'e', schema: { k: 'string', ts: 'timestamp', emb: 'float32[4]', b: 'bool', ...s } as never, timestamp: 'ts' });
      return defineProject({ name: 'p', entities: [user], sources: [source], featureViews: [featureView({ name: 'v', entity: user, source, features: { f: feature } })] });
    };
    expect(withFeature(max('emb'))).toThrow('feature view "v", feature "f": max() cannot take the float32[4] column "emb"; vectors and lists are served with field() or last()');
    expect(withFeature(lastN('emb', 3))).toThrow(/feature "f": lastN\(\) cannot take the float32\[4\] column/);
    expect(withFeature(lastN('b', 3))).toThrow(/feature "f": lastN\(\) collects string, int64, float64 values, but "b" is bool/);
    expect(withFeature(lastN('k', 0))).toThrow(/feature "f": lastN\(\) needs a count n that is a whole number from 1 to 10000, not 0/);
    expect(() => defineProject({ name: 'p', entities: [user], sources: [cdcSource({ name: 'c', key: 'k', schema: { k: 'string', emb: 'float32[4]' } })], featureViews: [] }))
      .toThrow('source "c": column "emb" has type "float32[4]"; CDC sources carry scalar columns only');
  });
});

describe('ingest: vectors and lists from JSON arrays and Parquet lists, bad rows dead-lettered with a reason', () => {
  test('JSONL: wrong length, wrong element type, null element, non-array and out-of-range values are rejected; good rows land as Parquet lists', async () => {
    env = await tempPlatform(spec, T0 + 86_400_000);
    const { platform, project, dir } = env;
    const good = { k: 'u1', emb: [0.1, -2.5, 3e38], wide: [0.1, 1e300], tags: ['a', 'é'], ids: [9007199254740993n, -1], item: 'x', n: 1, ts: iso(T0) };
    const rows = [
      good,
      { ...good, emb: [1, 2] },
      { ...good, emb: [1, 'a', 3] },
      { ...good, emb: [1, null, 3] },
      { ...good, emb: '[1, 2, 3]' },
      { ...good, emb: { a: 1 } },
      { ...good, emb: [1, 2, 1e39] },
      { ...good, ids: [1.5] },
      { ...good, ids: [9223372036854775808n] },
      { ...good, tags: ['a', 1] },
      { ...good, emb: [1, '2', 3] },
      { ...good, emb: [true, 2, 3] },
      { ...good, ids: ['3'] },
      { ...good, emb: null, tags: [], ids: null },
    ];
    const file = join(dir, 'e.jsonl');
    writeFileSync(file, rows.map(line).join('\n'));
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 2, rejected: 12 });
    const reasons = (await platform.metadata.listDeadLetters({ limit: 100 })).sort((a, b) => a.line - b.line).map((d) => d.reason);
    expect(reasons).toEqual([
      'column "emb": a float32[3] vector needs 3 values, found 2',
      'column "emb": element 2 ("a") is not a finite float32 number',
      'column "emb": element 2 (null) is not a finite float32 number',
      'column "emb": a JSON varchar where an array is expected',
      'column "emb": a JSON object where an array is expected',
      'column "emb": element 3 (1e39) is not a finite float32 number',
      'column "ids": element 1 (1.5) is not an int64 (a whole number within ±2^63)',
      'column "ids": element 1 (9223372036854775808) is not an int64 (a whole number within ±2^63)',
      'column "tags": element 2 (1) is not a string',
      'column "emb": element 2 ("2") is not a finite float32 number',
      'column "emb": element 1 (true) is not a finite float32 number',
      'column "ids": element 1 ("3") is not an int64 (a whole number within ±2^63)',
    ]);
    const snapshot = await platform.metadata.latestSnapshot('events');
    const engine = await platform.engine();
    const files = snapshot!.files.map((f) => `'${platform.lake.resolve(f)}'`).join(', ');
    const types = await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT emb, wide, tags, ids FROM read_parquet([${files}])`);
    expect(types.map((t) => t.column_type)).toEqual(['FLOAT[]', 'DOUBLE[]', 'VARCHAR[]', 'BIGINT[]']);
    const [stored] = await engine.all<{ emb: number[]; ids: unknown[] }>(`SELECT emb, ids FROM read_parquet([${files}]) ORDER BY _seq LIMIT 1`);
    expect(stored!.emb).toEqual(f32([0.1, -2.5, 3e38]));
    expect(stored!.ids).toEqual([9007199254740993n, -1]);
  });

  test('CSV text and Parquet lists (float, double and fixed-size arrays) are read; a Parquet scalar where a list is expected is rejected', async () => {
    env = await tempPlatform(spec, T0 + 86_400_000);
    const { platform, project, dir } = env;
    const csv = join(dir, 'e.csv');
    writeFileSync(csv, ['k,emb,wide,tags,ids,item,n,ts', `u1,"[0.5,1,2]","[1,2]","[""a""]",[7],x,1,${iso(T0)}`, `u1,"[0.5,1]","[1,2]",[],[],x,1,${iso(T0)}`].join('\n'));
    expect(await ingestFile(platform, project, 'events', csv)).toMatchObject({ accepted: 1, rejected: 1 });
    const engine = await platform.engine();
    const parquet = join(dir, 'e.parquet');
    await engine.run(`COPY (SELECT * FROM (VALUES
      ('u2', [0.25, 1.5, -3]::FLOAT[3], [0.1, 0.2]::DOUBLE[], ['p', 'q'], [1, 9007199254740993]::BIGINT[], 'y', 2, TIMESTAMP '2024-01-01 00:00:01'),
      ('u2', [0.25, 1.5]::FLOAT[2]::FLOAT[], [0.1, 0.2]::DOUBLE[], ['p'], []::BIGINT[], 'y', 2, TIMESTAMP '2024-01-01 00:00:01')
    ) t(k, emb, wide, tags, ids, item, n, ts)) TO '${parquet}' (FORMAT PARQUET)`).catch(async () => {
      // A FLOAT[3] and a FLOAT[] cannot share a column: write the fixed-size one alone.
      await engine.run(`COPY (SELECT 'u2' AS k, [0.25, 1.5, -3]::FLOAT[3] AS emb, [0.1, 0.2]::DOUBLE[] AS wide, ['p', 'q'] AS tags, [1, 9007199254740993]::BIGINT[] AS ids, 'y' AS item, 2 AS n, TIMESTAMP '2024-01-01 00:00:01' AS ts) TO '${parquet}' (FORMAT PARQUET)`);
    });
    const result = await ingestFile(platform, project, 'events', parquet);
    expect(result.accepted).toBe(1);
    const scalar = join(dir, 's.parquet');
    await engine.run(`COPY (SELECT 'u3' AS k, 1.5 AS emb, [0.1, 0.2] AS wide, ['p'] AS tags, [1]::BIGINT[] AS ids, 'y' AS item, 2 AS n, TIMESTAMP '2024-01-01 00:00:01' AS ts) TO '${scalar}' (FORMAT PARQUET)`);
    expect(await ingestFile(platform, project, 'events', scalar)).toMatchObject({ accepted: 0, rejected: 1 });
    const reasons = (await platform.metadata.listDeadLetters({ limit: 100 })).map((d) => d.reason).sort();
    expect(reasons).toEqual(['column "emb": "1.5" is not a JSON array; a float32[3] value is written like [0.25, -1.5]', 'column "emb": a float32[3] vector needs 3 values, found 2']);
    await materialize(platform, project);
    const online = await getOnlineFeatures(project, await platform.online(), { features: ['vec:emb', 'vec:ids', 'vec:tags'], entities: { k: ['u1', 'u2'] } }, T0 + 86_400_000, new Map());
    expect(online.rows.map((r) => [r.vec__emb, r.vec__ids, r.vec__tags])).toEqual([
      [[0.5, 1, 2], [7], ['a']],
      [f32([0.25, 1.5, -3]), [1, 9007199254740993n], ['p', 'q']],
    ]);
  });
});

describe('serving and datasets', () => {
  test('float32 vectors round-trip bit for bit (online JSON and dataset Parquet); lastN is newest first, windowed, and agrees on both paths', async () => {
    env = await tempPlatform(spec, T0);
    const { platform, project, dir, clock } = env;
    // Values that are not float32: stored as the nearest float32, served as that float32 widened.
    const vector = [0.1, 1 / 3, -1e-40];
    const rows = [
      { k: 'u1', emb: [1, 2, 3], wide: [1, 2], tags: ['a'], ids: [1], item: 'a', n: 1, ts: iso(T0) },
      { k: 'u1', emb: vector, wide: [0.1, 1 / 3], tags: [], ids: [2n ** 62n], item: 'b', n: null, ts: iso(T0 + 3_600_000) },
      { k: 'u1', emb: null, wide: null, tags: null, ids: null, item: null, n: 3, ts: iso(T0 + 2 * 3_600_000) },
      { k: 'u1', emb: null, wide: null, tags: null, ids: null, item: 'c', n: 4, ts: iso(T0 + 2 * 3_600_000 + 1) },
      { k: 'u2', emb: [0, 'NEG0', 5], wide: [0, 0], tags: ['z'], ids: [], item: 'q', n: 9, ts: iso(T0) },
    ];
    const file = join(dir, 'e.jsonl');
    writeFileSync(file, rows.map(line).join('\n').replace('"NEG0"', '-0.0'));
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 5, rejected: 0 });
    const t = T0 + 2 * 3_600_000 + 2;
    clock.now = t;
    await materialize(platform, project);
    const online = await getOnlineFeatures(project, await platform.online(), { features: project.featureViews[0]!.features.map((f) => `vec:${f.name}`), entities: { k: ['u1', 'u2', 'nobody'] } }, t, await latestSnapshots(platform.metadata, project));
    const expected = [
      { vec__emb: null, vec__last_emb: f32(vector), vec__wide: [0.1, 1 / 3], vec__tags: [], vec__ids: [2n ** 62n], vec__with_emb: 2, vec__items_3: ['c', 'b', 'a'], vec__items_2_1h: ['c'], vec__ns_2: [4, 3] },
      // -0 is stored as 0 (see docs/semantics.md).
      { vec__emb: [0, 0, 5], vec__last_emb: [0, 0, 5], vec__wide: [0, 0], vec__tags: ['z'], vec__ids: [], vec__with_emb: 1, vec__items_3: ['q'], vec__items_2_1h: [], vec__ns_2: [9] },
      { vec__emb: null, vec__last_emb: null, vec__wide: null, vec__tags: null, vec__ids: null, vec__with_emb: 0, vec__items_3: [], vec__items_2_1h: [], vec__ns_2: [] },
    ];
    expect(online.rows.map(({ k: _k, ...r }) => r)).toEqual(expected);
    expect(Object.is((online.rows[1]!.vec__emb as number[])[1], 0)).toBe(true);
    // Over HTTP: JSON arrays, float32 values as the doubles they widen to, int64 with every digit.
    const app = await createServer(platform);
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ features: ['vec:last_emb', 'vec:ids', 'vec:items_3'], entities: { k: ['u1'] } }) });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(`"vec__last_emb":[${f32(vector).join(',')}]`);
      expect(res.body).toContain('"vec__ids":[4611686018427387904]');
      expect(res.body).toContain('"vec__items_3":["c","b","a"]');
    } finally {
      await app.close();
    }

    const spine = join(dir, 'spine.csv');
    writeFileSync(spine, ['k,ts', `u1,${iso(t)}`, `u2,${iso(t)}`, `nobody,${iso(t)}`, `u1,${iso(T0 + 3_600_000)}`].join('\n'));
    const out = join(dir, 'train.parquet');
    await buildDataset(platform, project, { spine, out, features: project.featureViews[0]!.features.map((f) => `vec:${f.name}`) });
    const engine = await platform.engine();
    const types = await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT vec__emb, vec__wide, vec__tags, vec__ids, vec__items_3, vec__ns_2 FROM '${out}'`);
    expect(types.map((c) => c.column_type)).toEqual(['FLOAT[]', 'DOUBLE[]', 'VARCHAR[]', 'BIGINT[]', 'VARCHAR[]', 'BIGINT[]']);
    const dataset = await engine.all<Record<string, unknown>>(`SELECT * EXCLUDE (k, ts) FROM '${out}'`);
    expect(dataset.slice(0, 3)).toEqual(expected);
    expect(Object.is((dataset[1]!.vec__emb as number[])[1], 0)).toBe(true);
    expect(dataset[3]).toMatchObject({ vec__last_emb: [1, 2, 3], vec__items_3: ['a'], vec__ns_2: [1] });
    // Text formats write a float32 value as the double it widens to, as online serving does.
    const jsonl = join(dir, 'train.jsonl');
    await buildDataset(platform, project, { spine, out: jsonl, features: ['vec:last_emb', 'vec:ids', 'vec:tags'] });
    const first = readFileSync(jsonl, 'utf8').split('\n')[0]!;
    expect(first).toContain(`"vec__last_emb":[${f32(vector).join(',')}]`);
    expect(first).toContain('"vec__ids":[4611686018427387904]');
    const csvOut = join(dir, 'train.csv');
    await buildDataset(platform, project, { spine, out: csvOut, features: ['vec:last_emb'] });
    expect(readFileSync(csvOut, 'utf8')).toContain(f32(vector).map(String).join(', '));
  });

  test('the push API: vectors are validated, dead-lettered with a reason, served online from the stream', async () => {
    const stream = streamSource({ name: 'pushed', schema, timestamp: 'ts', allowedLateness: '1h' });
    const pushSpec = defineProject({ name: 'lists_push', entities: [user], sources: [stream], featureViews: views(stream) });
    env = await tempPlatform(pushSpec, T0 + 1000);
    const { platform, project } = env;
    const runtime = await startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000 });
    try {
      const good = { k: 'u1', emb: [0.1, 0.2, 0.3], wide: [1, 2], tags: ['a'], ids: [5], item: 'i1', n: 1, ts: iso(T0) };
      const body = JSON.stringify({ events: [good, { ...good, emb: [1, 2, 3, 4] }, { ...good, item: 'i2', ts: iso(T0 + 1), emb: [1, 2, 'x'] }, { ...good, item: 'i3', ts: iso(T0 + 2) }] });
      const result = await runtime.processor.append('pushed', { body }, 'push');
      expect(result.accepted).toBe(2);
      expect(result.rejected.map((r) => r.index)).toEqual([1, 2]);
      expect(result.rejected.map((r) => r.reason)).toEqual(['column "emb": a float32[3] vector needs 3 values, found 4', 'column "emb": element 3 ("x") is not a finite float32 number']);
      const online = await getOnlineFeatures(project, await platform.online(), { features: ['vec:emb', 'vec:items_3', 'vec:ids'], entities: { k: ['u1'] } }, T0 + 1000, await latestSnapshots(platform.metadata, project));
      expect(online.rows[0]).toMatchObject({ vec__emb: f32([0.1, 0.2, 0.3]), vec__items_3: ['i3', 'i1'], vec__ids: [5] });
    } finally {
      await runtime.close();
    }
  });
});
