import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, test } from 'vitest';
import { defineProject, entity, featureView, last, streamSource, sum } from '../src/definitions/index.js';
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
const spec = defineProject({ name: 'z', entities: [user], sources: [events], featureViews: [zeros] });

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
