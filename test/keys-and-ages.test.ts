import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { duckDbEngine } from '../src/storage/engine/duckdb-engine.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
let env: Awaited<ReturnType<typeof tempPlatform>> | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

test('int64 join keys: a spine or a request finds the entity however it writes the number (007, +7, 7.0)', async () => {
  const user = entity({ name: 'user', joinKey: 'u' });
  const events = batchSource({ name: 'events', schema: { u: 'int64', x: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
  const spec = defineProject({ name: 'p', entities: [user], sources: [events], featureViews: [featureView({ name: 'v', entity: user, source: events, features: { n: count(), s: sum('x') } })] });
  env = await tempPlatform(spec, T0 + 86_400_000);
  const { platform, project, dir } = env;
  writeFileSync(join(dir, 'e.csv'), 'u,x,ts\n007,2,2024-01-01T00:00:00Z\n');
  await ingestFile(platform, project, 'events', join(dir, 'e.csv'));
  writeFileSync(join(dir, 'spine.csv'), 'u,ts\n7,2024-01-02T00:00:00Z\n007,2024-01-02T00:00:00Z\n+7,2024-01-02T00:00:00Z\n');
  const out = join(dir, 'out.jsonl');
  await buildDataset(platform, project, { spine: join(dir, 'spine.csv'), out, features: ['v:n', 'v:s'] });
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(rows.map((r) => [r.u, r.v__n, r.v__s])).toEqual([['7', 1, 2], ['007', 1, 2], ['+7', 1, 2]]);
  // A Parquet spine whose key column is a DOUBLE, as pandas writes a nullable integer column.
  const engine = await duckDbEngine({ threads: 1 });
  await engine.run(`COPY (SELECT 7.0::DOUBLE AS u, TIMESTAMP '2024-01-02 00:00:00' AS ts) TO '${join(dir, 'spine.parquet')}' (FORMAT PARQUET)`);
  await engine.close();
  await buildDataset(platform, project, { spine: join(dir, 'spine.parquet'), out: join(dir, 'out2.jsonl'), features: ['v:n'] });
  expect(JSON.parse(readFileSync(join(dir, 'out2.jsonl'), 'utf8').trim())).toMatchObject({ v__n: 1 });
  await materialize(platform, project);
  const online = await getOnlineFeatures(project, await platform.online(), { features: ['v:n'], entities: { u: ['007', 7, '+7'] } }, T0 + 86_400_000, new Map());
  expect(online.rows.map((r) => r.v__n)).toEqual([1, 1, 1]);
});

test('a composite key too long for the online store as a whole is rejected at ingest, not by a failed materialize', async () => {
  const pair = entity({ name: 'pair', joinKeys: ['a', 'b'] });
  const events = batchSource({ name: 'events', schema: { a: 'string', b: 'string', ts: 'timestamp' }, timestamp: 'ts' });
  const spec = defineProject({ name: 'p', entities: [pair], sources: [events], featureViews: [featureView({ name: 'v', entity: pair, source: events, features: { n: count() } })] });
  env = await tempPlatform(spec, T0 + 86_400_000);
  const { platform, project, dir } = env;
  writeFileSync(join(dir, 'e.csv'), `a,b,ts\n${'x'.repeat(1000)},${'y'.repeat(1000)},2024-01-01T00:00:00Z\nshort,key,2024-01-01T00:00:00Z\n`);
  const result = await ingestFile(platform, project, 'events', join(dir, 'e.csv'));
  expect({ accepted: result.accepted, rejected: result.rejected }).toEqual({ accepted: 1, rejected: 1 });
  const [letter] = await platform.metadata.listDeadLetters({ source: 'events' });
  expect(letter!.reason).toContain('the key of entity "pair" (a, b) is 2010 bytes encoded; keys may be at most 1024');
  await expect(materialize(platform, project)).resolves.toBeDefined();
});

test('the age of count(col) is that of the newest non-null value, not of a newer null row', async () => {
  const user = entity({ name: 'user', joinKey: 'u' });
  const events = batchSource({ name: 'events', schema: { u: 'string', i: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
  const spec = defineProject({ name: 'p', entities: [user], sources: [events], featureViews: [featureView({ name: 'v', entity: user, source: events, features: { n: count('i'), w: count('i', { window: '1d' }) } })] });
  env = await tempPlatform(spec, T0 + 180 * 60_000);
  const { platform, project, dir } = env;
  writeFileSync(join(dir, 'e.csv'), 'u,i,ts\nu1,1,2024-01-01T00:10:00Z\nu1,2,2024-01-01T02:30:00Z\nu1,,2024-01-01T02:50:00Z\n');
  await ingestFile(platform, project, 'events', join(dir, 'e.csv'));
  await materialize(platform, project, { asOf: T0 + 180 * 60_000 });
  const online = await getOnlineFeatures(project, await platform.online(), { features: ['v:n', 'v:w'], entities: { u: ['u1'] } }, T0 + 180 * 60_000, new Map());
  expect(online.rows[0]).toMatchObject({ v__n: 2, v__w: 2 });
  expect(online.metadata[0]!.ageMs).toEqual([30 * 60_000, 30 * 60_000]);
});
