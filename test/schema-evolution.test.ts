import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { assertApplicable, batchSource, compileProject, count, countDistinct, defineProject, entity, featureView, last, planChanges, type ColumnType, type Project } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const V1: Record<string, ColumnType> = { customer_id: 'string', amount: 'float64', ts: 'timestamp' };
const counts = (source: ReturnType<typeof batchSource>) => featureView({ name: 'counts', entity: customer, source, features: { n: count() } });
const spec = (schema: Record<string, ColumnType>, withChannel: boolean) => {
  const txns = batchSource({ name: 'txns', schema, timestamp: 'ts' });
  const views = [counts(txns), ...(withChannel ? [featureView({ name: 'channels', entity: customer, source: txns, features: { last_channel: last('channel'), channels: countDistinct('channel') } })] : [])];
  return defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: views });
};

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec(V1, false), T0 + 86_400_000);
});
afterEach(async () => env.dispose());

const csv = (name: string, lines: string[]) => {
  const file = join(env.dir, name);
  writeFileSync(file, lines.join('\n'));
  return file;
};

test('a nullable column added to a source: older files read it as null on every path', async () => {
  await ingestFile(env.platform, env.project, 'txns', csv('old.csv', ['customer_id,amount,ts', 'c1,1,2024-01-01T01:00:00Z', 'c2,2,2024-01-01T02:00:00Z']));
  await materialize(env.platform, env.project);
  const v2: Project = compileProject(spec({ ...V1, channel: 'string' }, true));
  const changes = planChanges(env.project, v2);
  assertApplicable(changes);
  // The view that does not read the new column keeps its hash: nothing to rematerialize.
  expect(changes.filter((c) => c.rematerialize).map((c) => c.name)).toEqual(['channels']);
  await env.platform.metadata.recordRegistry(v2);
  await ingestFile(env.platform, v2, 'txns', csv('new.csv', ['customer_id,amount,channel,ts', 'c1,3,web,2024-01-01T03:00:00Z']));

  await materialize(env.platform, v2);
  const online = await getOnlineFeatures(v2, await env.platform.online(), { entities: { customer_id: ['c1', 'c2'] }, features: ['counts:n', 'channels:last_channel', 'channels:channels'] }, env.clock.now, await latestSnapshots(env.platform.metadata, v2));
  expect(online.rows).toEqual([
    { customer_id: 'c1', counts__n: 2, channels__last_channel: 'web', channels__channels: 1 },
    { customer_id: 'c2', counts__n: 1, channels__last_channel: null, channels__channels: 0 },
  ]);
  expect(online.stale).toBe(0);

  const spine = csv('spine.csv', ['customer_id,ts', 'c1,2024-01-01T02:30:00Z', 'c1,2024-01-01T04:00:00Z', 'c2,2024-01-01T04:00:00Z']);
  const out = join(env.dir, 'out.jsonl');
  await buildDataset(env.platform, v2, { spine, out, features: ['counts:n', 'channels:last_channel'] });
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(rows.map((r) => [r.counts__n, r.channels__last_channel])).toEqual([[1, null], [2, 'web'], [1, null]]);
});

test('a view of a column that no file holds yet reads it as null', async () => {
  await ingestFile(env.platform, env.project, 'txns', csv('old.csv', ['customer_id,amount,ts', 'c1,1,2024-01-01T01:00:00Z']));
  const v2: Project = compileProject(spec({ ...V1, channel: 'string' }, true));
  await env.platform.metadata.recordRegistry(v2);
  await materialize(env.platform, v2);
  const online = await getOnlineFeatures(v2, await env.platform.online(), { entities: { customer_id: ['c1'] }, features: ['counts:n', 'channels:last_channel', 'channels:channels'] }, env.clock.now, await latestSnapshots(env.platform.metadata, v2));
  expect(online.rows).toEqual([{ customer_id: 'c1', counts__n: 1, channels__last_channel: null, channels__channels: 0 }]);
  const spine = csv('spine.csv', ['customer_id,ts', 'c1,2024-01-01T04:00:00Z']);
  const out = join(env.dir, 'out.jsonl');
  await buildDataset(env.platform, v2, { spine, out, features: ['channels:last_channel'] });
  expect(JSON.parse(readFileSync(out, 'utf8').trim())).toMatchObject({ channels__last_channel: null });
});

test('removing or retyping a source column is refused at apply, saying what to do', () => {
  const { amount: _amount, ...withoutAmount } = V1;
  void _amount;
  for (const schema of [withoutAmount, { ...V1, amount: 'string' as const }]) {
    expect(() => assertApplicable(planChanges(env.project, compileProject(spec(schema, false))))).toThrow(/source "txns": column "amount" cannot (be removed|change type).*(keep it in the schema|add a new column)/);
  }
});
