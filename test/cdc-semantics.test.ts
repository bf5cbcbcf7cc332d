import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { cdcSource, count, defineProject, entity, featureView, field, compileProject } from '../src/definitions/index.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const MIN = 60_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const accounts = cdcSource({ name: 'accounts', key: 'account_id', schema: { account_id: 'string', tier: 'string', credit_limit: 'float64' } });
const profile = featureView({ name: 'profile', entity: account, source: accounts, features: { tier: field('tier'), credit_limit: field('credit_limit') } });
const spec = defineProject({ name: 'crm', entities: [account], sources: [accounts], featureViews: [profile] });
const FEATURES = ['profile:tier', 'profile:credit_limit'];

let env: Awaited<ReturnType<typeof tempPlatform>>;
let runtime: StreamRuntime;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 60 * MIN);
  runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
});
afterEach(async () => {
  await runtime.close();
  await env.dispose();
});

const change = (op: string, id: string, minutes: number, tier: string | null = null, limit: number | null = null) =>
  JSON.stringify({ account_id: id, tier, credit_limit: limit, _op: op, _changed_at: new Date(T0 + minutes * MIN).toISOString() });
const online = async (ids: string[]) =>
  getOnlineFeatures(env.project, await env.platform.online(), { entities: { account_id: ids }, features: FEATURES }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project));

describe('CDC sources: a versioned table', () => {
  test('field() answers the row as it was at t; after a delete the entity is NOT_FOUND, online and in datasets', async () => {
    const push = (texts: string[]) => runtime.processor.append('accounts', { texts }, 'postgresCdc');
    await push([change('snapshot', 'a', 0, 'silver', 100), change('snapshot', 'b', 0, 'gold', 500)]);
    await push([change('update', 'a', 10, 'gold', 1000), change('delete', 'b', 20)]);
    await push([change('insert', 'c', 30, 'bronze', null), change('delete', 'a', 40), change('insert', 'a', 50, 'platinum', 9000)]);
    expect((await push([change('upsert', 'x', 55)])).rejected[0]!.reason).toMatch(/_op/);
    const now = await online(['a', 'b', 'c', 'zz']);
    expect(now.rows.map((r) => [r.profile__tier, r.profile__credit_limit])).toEqual([['platinum', 9000], [null, null], ['bronze', null], [null, null]]);
    expect(now.metadata.map((m) => m.status[0])).toEqual(['PRESENT', 'NOT_FOUND', 'PRESENT', 'NOT_FOUND']);
    // The same after rebuilding from the lake.
    await runtime.commitNow();
    await materialize(env.platform, env.project);
    expect((await online(['a', 'b'])).metadata.map((m) => m.status[0])).toEqual(['PRESENT', 'NOT_FOUND']);
    // A dataset answers the versions at each time.
    const times = [0, 5, 15, 25, 45, 55];
    const spine = join(env.dir, 'spine.csv');
    writeFileSync(spine, ['account_id,ts', ...['a', 'b'].flatMap((id) => times.map((m) => `${id},${new Date(T0 + m * MIN).toISOString()}`))].join('\n'));
    const out = join(env.dir, 'out.jsonl');
    await buildDataset(env.platform, env.project, { spine, out, features: FEATURES });
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r.profile__tier ?? null)).toEqual([null, 'silver', 'gold', 'gold', null, 'platinum', null, 'gold', 'gold', null, null, null]);
  });

  test('CDC views need the table key as their entity and use field()', () => {
    const other = entity({ name: 'tier', joinKey: 'tier' });
    expect(() => compileProject(defineProject({ name: 'x', entities: [other], sources: [accounts], featureViews: [featureView({ name: 'v', entity: other, source: accounts, features: { l: field('credit_limit') } })] }))).toThrow(/keyed by "account_id"/);
    expect(() => compileProject(defineProject({ name: 'x', entities: [account], sources: [accounts], featureViews: [featureView({ name: 'v', entity: account, source: accounts, features: { n: count() } })] }))).toThrow(/use field\(\)/);
  });
});
