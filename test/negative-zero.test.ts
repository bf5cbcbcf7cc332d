import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, test } from 'vitest';
import { bindRequestFunctions, defineProject, entity, featureView, last, requestView, streamSource, sum } from '../src/definitions/index.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { writeFileSync } from 'node:fs';
import { tempPlatform } from './support/temp-platform.js';

// DuckDB's Parquet writer dictionary-encodes a column, and -0 and 0 compare equal, so in a file
// holding both, every zero comes back as whichever it saw first: a pushed -0 (or 0) could be
// served one way online and read the other way from the lake by materialize and datasets.
const T0 = Date.parse('2024-01-01T00:00:00Z');
const user = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({ name: 'events', timestamp: 'ts', schema: { k: 'string', v: 'float64', ts: 'timestamp' } });
const zeros = featureView({ name: 'zeros', entity: user, source: events, features: { v: last('v'), total: sum('v') } });
// Request views: a -0 given in the request, and a -0 a function returns, are 0 online and in datasets alike.
const signs = requestView({
  name: 'signs',
  request: { x: 'float64' },
  inputs: [zeros],
  features: { echo: ({ request }) => request.x, made: ({ request }) => (request.x === 0 ? -0 : request.x), scaled: ({ request, zeros: z }) => request.x * (z.total ?? 1) },
  types: { echo: 'float64', made: 'float64', scaled: 'float64' },
});
const spec = defineProject({ name: 'z', entities: [user], sources: [events], featureViews: [zeros], requestViews: [signs] });

test('a negative zero is one value on every path: online, the lake, datasets', async () => {
  const env = await tempPlatform(spec, T0 + 60_000);
  const runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
  try {
    const n = 4000;
    const keys = Array.from({ length: n }, (_, i) => `u${i}`);
    await runtime.processor.append('events', { texts: keys.map((k, i) => JSON.stringify({ k, v: i % 2 === 0 ? '-0.0' : '0.0', ts: new Date(T0 + i).toISOString() }).replace(/"(-?0\.0)"/, '$1')) }, 'push');
    await runtime.commitNow();
    const online = await getOnlineFeatures(env.project, await env.platform.online(), { features: ['zeros:v', 'zeros:total'], entities: { k: keys } }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project));
    const spine = join(env.dir, 'spine.jsonl');
    writeFileSync(spine, keys.map((k) => JSON.stringify({ k, ts: new Date(env.clock.now).toISOString() })).join('\n') + '\n');
    const out = join(env.dir, 'out.parquet');
    await buildDataset(env.platform, env.project, { spine, out, features: ['zeros:v', 'zeros:total'] });
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const rows = (await db.runAndReadAll(`SELECT zeros__v AS v, zeros__total AS total FROM '${out}'`)).getRowObjects();
    db.closeSync();
    instance.closeSync();
    const sign = (x: unknown) => (Object.is(x, -0) ? '-0' : String(x));
    const offline = rows.map((r) => `${sign(r.v)} ${sign(r.total)}`);
    expect(online.rows.map((r) => `${sign(r.zeros__v)} ${sign(r.zeros__total)}`)).toEqual(offline);
  } finally {
    await runtime.close();
    await env.dispose();
  }
});

test('request views: a negative zero in the request or in a result is 0 online and in datasets, as on every other path', async () => {
  const env = await tempPlatform(spec, T0 + 60_000);
  try {
    const keys = ['a', 'b', 'c', 'd'];
    const xs = ['-0', '-0.0', '0', '-0e3'];
    const features = ['signs:echo', 'signs:made', 'signs:scaled'];
    const online = await getOnlineFeatures(env.project, await env.platform.online(), { features, entities: { k: keys }, request: { x: xs.map(Number) } }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project), { functions: bindRequestFunctions(spec, env.project) });
    const sign = (x: unknown) => (Object.is(x, -0) ? '-0' : String(x));
    const zerosOnly = keys.map(() => '0 0 0');
    expect(online.rows.map((r) => `${sign(r.signs__echo)} ${sign(r.signs__made)} ${sign(r.signs__scaled)}`)).toEqual(zerosOnly);
    const spine = join(env.dir, 'spine.csv');
    writeFileSync(spine, ['k,ts,x', ...keys.map((k, i) => `${k},${new Date(env.clock.now).toISOString()},${xs[i]}`)].join('\n') + '\n');
    for (const format of ['parquet', 'jsonl']) {
      const out = join(env.dir, `signs.${format}`);
      await buildDataset(env.platform, env.project, { spine, out, features });
      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      const rows = (await db.runAndReadAll(`SELECT signs__echo AS e, signs__made AS m, signs__scaled AS s FROM '${out}' ORDER BY k`)).getRowObjects();
      db.closeSync();
      instance.closeSync();
      expect(rows.map((r) => `${sign(r.e)} ${sign(r.m)} ${sign(r.s)}`)).toEqual(zerosOnly);
    }
  } finally {
    await env.dispose();
  }
});
