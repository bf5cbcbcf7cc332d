import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, sum, type Project } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { getOnlineFeatures, type OnlineFeaturesResponse } from '../src/serving/online-features.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const project = (features: Parameters<typeof featureView>[0]['features'], description?: string): Project =>
  compileProject(defineProject({
    name: 'p', entities: [customer], sources: [txns],
    featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features, ...(description ? { description } : {}) })],
    featureServices: [featureService({ name: 'svc', features: ['stats:n_1h'] })],
  }));
const V1 = { n_1h: count({ window: '1h' }), amount_sum_24h: sum('amount', { window: '24h' }) };

let env: Awaited<ReturnType<typeof tempPlatform>>;
let files = 0;
const ingest = async (p: Project, rows: string[]) => {
  const file = join(env.dir, `f${files++}.csv`);
  writeFileSync(file, ['customer_id,amount,ts', ...rows].join('\n'));
  return ingestFile(env.platform, p, 'txns', file);
};
const serve = async (p: Project, features: string[]): Promise<OnlineFeaturesResponse> =>
  getOnlineFeatures(p, await env.platform.online(), { entities: { customer_id: ['c1', 'zz'] }, features }, env.clock.now, await latestSnapshots(env.platform.metadata, p));
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

beforeEach(async () => {
  env = await tempPlatform(defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: V1 })] }), T0 + 60 * 60_000);
});
afterEach(async () => env.dispose());

describe('honest freshness', () => {
  test('a view never materialized is not served as zeros: null values, NOT_MATERIALIZED', async () => {
    const p = project(V1);
    await ingest(p, [`c1,10,${at(10)}`]);
    const res = await serve(p, ['stats:n_1h', 'stats:amount_sum_24h']);
    expect(res.rows[0]).toEqual({ customer_id: 'c1', stats__n_1h: null, stats__amount_sum_24h: null });
    expect(res.metadata[0]).toEqual({ status: ['NOT_MATERIALIZED', 'NOT_MATERIALIZED'], ageMs: [null, null] });
    expect(res.views.stats).toMatchObject({ status: 'NOT_MATERIALIZED', viewHash: null, materializedAt: null });
    expect(res.stale).toBe(0);
  });

  test('after ingest without materialize, values say STALE and which snapshot they reflect; materialize makes them fresh', async () => {
    const p = project(V1);
    const first = await ingest(p, [`c1,10,${at(10)}`, `c1,5,${at(20)}`]);
    await materialize(env.platform, p);
    const fresh = await serve(p, ['stats:n_1h']);
    expect(fresh.metadata[0]!.status).toEqual(['PRESENT']);
    expect(fresh.metadata[1]!.status).toEqual(['NOT_FOUND']);
    expect(fresh.views.stats).toEqual({ status: 'FRESH', viewHash: p.featureViews[0]!.hash, previousDefinition: false, materializedAt: at(60), snapshots: { txns: first.snapshot } });
    expect(fresh.stale).toBe(0);

    env.clock.now = T0 + 90 * 60_000;
    const second = await ingest(p, [`c1,1,${at(70)}`]);
    const stale = await serve(p, ['stats:n_1h']);
    // The value is the one of the snapshot the table was built from (no event of it in the last hour), and says so.
    expect(stale.rows[0]!.stats__n_1h).toBe(0);
    expect(stale.metadata.map((m) => m.status)).toEqual([['STALE'], ['STALE']]);
    expect(stale.stale).toBe(2);
    expect(stale.views.stats).toMatchObject({ status: 'STALE', snapshots: { txns: first.snapshot } });

    await materialize(env.platform, p);
    const again = await serve(p, ['stats:n_1h']);
    expect(again.rows[0]!.stats__n_1h).toBe(1);
    expect(again.metadata[0]!.status).toEqual(['PRESENT']);
    expect(again.views.stats).toMatchObject({ status: 'FRESH', snapshots: { txns: second.snapshot } });
  });
});

describe('definition changes: blue/green by definition hash', () => {
  test('a description change keeps serving the table (same value hash)', async () => {
    const p = project(V1);
    await ingest(p, [`c1,10,${at(10)}`]);
    await materialize(env.platform, p);
    const res = await serve(project(V1, 'now with a description'), ['stats:n_1h']);
    expect(res.metadata[0]!.status).toEqual(['PRESENT']);
    expect(res.views.stats).toMatchObject({ status: 'FRESH', previousDefinition: false });
  });

  test('a changed view keeps serving its unchanged features from the old table until the new one is materialized', async () => {
    const v1 = project(V1);
    await ingest(v1, [`c1,10,${at(10)}`, `c1,5,${at(50)}`]);
    await materialize(env.platform, v1);
    const v2 = project({ n_1h: count({ window: '1h' }), amount_sum_24h: sum('amount', { window: '48h' }), n_2h: count({ window: '2h' }) });
    const during = await serve(v2, ['stats:n_1h', 'stats:amount_sum_24h', 'stats:n_2h']);
    expect(during.rows[0]).toEqual({ customer_id: 'c1', stats__n_1h: 2, stats__amount_sum_24h: null, stats__n_2h: null });
    expect(during.metadata[0]!.status).toEqual(['PRESENT', 'NOT_MATERIALIZED', 'NOT_MATERIALIZED']);
    expect(during.views.stats).toMatchObject({ status: 'FRESH', viewHash: v1.featureViews[0]!.hash, previousDefinition: true });
    // The old definition keeps answering a server that still has it.
    expect((await serve(v1, ['stats:amount_sum_24h'])).rows[0]!.stats__amount_sum_24h).toBe(15);

    await materialize(env.platform, v2);
    const after = await serve(v2, ['stats:n_1h', 'stats:amount_sum_24h', 'stats:n_2h']);
    expect(after.rows[0]).toEqual({ customer_id: 'c1', stats__n_1h: 2, stats__amount_sum_24h: 15, stats__n_2h: 2 });
    expect(after.views.stats).toMatchObject({ viewHash: v2.featureViews[0]!.hash, previousDefinition: false });
    // The old table is dropped once the new one serves.
    expect(await (await env.platform.online()).gc()).toEqual({ generations: 0, entries: 0 });
  });
});
