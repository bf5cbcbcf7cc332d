import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { evaluateFreshness } from '../src/observability/freshness-status.js';
import { materialize } from '../src/processing/materialize.js';
import { createServer } from '../src/serving/http/server.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { sluice } from './support/cli.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const MIN = 60_000;
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const schema = { customer_id: 'string', ts: 'timestamp' } as const;
const txns = batchSource({ name: 'txns', schema, timestamp: 'ts', freshness: '10m' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() }, freshness: '15m' });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 60 * MIN);
});
afterEach(async () => env.dispose());

let files = 0;
const ingest = async (rows: string[]) => {
  const path = join(env.dir, `f${files++}.csv`);
  writeFileSync(path, ['customer_id,ts', ...rows].join('\n'));
  await ingestFile(env.platform, env.project, 'txns', path);
};
const ask = async () => getOnlineFeatures(env.project, await env.platform.online(), { entities: { customer_id: ['c1'] }, features: ['stats:n'] }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project));
const freshness = async () => Object.fromEntries((await evaluateFreshness(env.project, { metadata: env.platform.metadata, online: await env.platform.online(), now: env.clock.now })).map((f) => [`${f.kind}:${f.name}`, f]));

test('freshness is outside the value hashes: declaring it keeps every hash but the project\'s; a bad duration names the fix', () => {
  const plain = compileProject(defineProject({ name: 'p', entities: [customer], sources: [batchSource({ name: 'txns', schema, timestamp: 'ts' })], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } })] }));
  const sla = compileProject(spec);
  expect(sla.featureViews[0]).toMatchObject({ freshness: '15m', freshnessMs: 15 * MIN, hash: plain.featureViews[0]!.hash });
  expect(sla.sources[0]).toMatchObject({ freshness: '10m', freshnessMs: 10 * MIN, hash: plain.sources[0]!.hash });
  expect(plain.featureViews[0]).not.toHaveProperty('freshness');
  expect(sla.hash).not.toBe(plain.hash);
  expect(() => compileProject(defineProject({ name: 'p', entities: [customer], sources: [batchSource({ name: 'txns', schema, timestamp: 'ts', freshness: '5 minutes' })], featureViews: [] }))).toThrow(/source "txns": freshness "5 minutes" is not a positive duration; write e.g. "5m"/);
});

test('a view past its SLA serves STALE with the reason, shows stale in status and metrics, and is fresh again after new data', async () => {
  await ingest(['c1,2024-01-01T00:10:00Z']);
  await materialize(env.platform, env.project);
  const app = await createServer(env.platform);
  const staleMetric = async (kind: string, name: string) => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    return Number(new RegExp(`^sluice_stale\\{kind="${kind}",name="${name}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  try {
    expect(await ask()).toMatchObject({ rows: [{ stats__n: 1 }], metadata: [{ status: ['PRESENT'] }], views: { stats: { status: 'FRESH' } }, stale: 0 });
    expect(await freshness()).toMatchObject({ 'source:txns': { stale: false, lagSeconds: 0, slaSeconds: 600 }, 'view:stats': { stale: false, lagSeconds: 0, slaSeconds: 900 } });
    expect(await staleMetric('view', 'stats')).toBe(0);

    // 12 minutes on: the source is past its 10m SLA, the view (15m) is not yet.
    env.clock.now += 12 * MIN;
    expect((await ask()).views.stats!.status).toBe('FRESH');
    expect(await freshness()).toMatchObject({ 'source:txns': { stale: true, lagSeconds: 720, reason: expect.stringMatching(/past its freshness SLA of 10m: its newest data is 12m old/) }, 'view:stats': { stale: false } });
    expect(await staleMetric('source', 'txns')).toBe(1);
    // Exactly at the SLA it is fresh; a millisecond past, STALE with the reason.
    env.clock.now += 3 * MIN;
    expect((await ask()).views.stats!.status).toBe('FRESH');
    env.clock.now += 1;
    const stale = await ask();
    expect(stale).toMatchObject({ rows: [{ stats__n: 1 }], metadata: [{ status: ['STALE'] }], stale: 1, views: { stats: { status: 'STALE', reason: expect.stringMatching(/^past its freshness SLA of 15m: its newest data is 15m old \(from 2024-01-01T01:00:00\.000Z\)$/) } } });
    expect((await freshness())['view:stats']).toMatchObject({ stale: true, dataAt: '2024-01-01T01:00:00.000Z' });
    expect(await staleMetric('view', 'stats')).toBe(1);
    // The server says the same, and counts the STALE answer.
    const served = (await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: ['c1'] }, features: ['stats:n'] } })).json();
    expect(served).toMatchObject({ metadata: [{ status: ['STALE'] }], views: { stats: { status: 'STALE', reason: expect.stringMatching(/^past its freshness SLA of 15m/) } } });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^sluice_serving_stale_view_answers_total\{view="stats"\} 1$/m);

    // New data, not yet materialized: still STALE (newer data committed); materialized: fresh.
    await ingest(['c1,2024-01-01T01:10:00Z']);
    expect((await freshness())['source:txns']).toMatchObject({ stale: false, lagSeconds: 0 });
    await materialize(env.platform, env.project);
    expect(await ask()).toMatchObject({ rows: [{ stats__n: 2 }], metadata: [{ status: ['PRESENT'] }], views: { stats: { status: 'FRESH' } }, stale: 0 });
    expect(await freshness()).toMatchObject({ 'source:txns': { stale: false }, 'view:stats': { stale: false, lagSeconds: 0 } });
    expect(await staleMetric('view', 'stats')).toBe(0);
  } finally {
    await app.close();
  }
});

test('a streamed view is fresh while events arrive: its table reflects the newest acknowledgement', async () => {
  const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id', freshness: '5m' });
  const paid = featureView({ name: 'paid', entity: customer, source: payments, features: { n: count() }, freshness: '5m' });
  const project = compileProject(defineProject({ name: 'p', entities: [customer], sources: [payments], featureViews: [paid] }));
  await env.platform.metadata.recordRegistry(project);
  const runtime = await startStreamRuntime(env.platform, { project: () => project, commitIntervalMs: 3_600_000 });
  try {
    const push = (id: string) => runtime.processor.append('payments', { texts: [JSON.stringify({ payment_id: id, customer_id: 'c1', ts: new Date(env.clock.now - MIN).toISOString() })] }, 'push');
    const get = async () => getOnlineFeatures(project, await env.platform.online(), { entities: { customer_id: ['c1'] }, features: ['paid:n'] }, env.clock.now, await latestSnapshots(env.platform.metadata, project));
    const status = async () => Object.fromEntries((await evaluateFreshness(project, { metadata: env.platform.metadata, online: await env.platform.online(), log: () => env.platform.log(), now: env.clock.now })).map((f) => [`${f.kind}:${f.name}`, f.stale]));
    await push('p1');
    expect((await get()).views.paid!.status).toBe('FRESH');
    env.clock.now += 6 * MIN;
    expect((await get()).metadata[0]!.status).toEqual(['STALE']);
    expect(await status()).toEqual({ 'source:payments': true, 'view:paid': true });
    await push('p2');
    expect(await get()).toMatchObject({ rows: [{ paid__n: 2 }], metadata: [{ status: ['PRESENT'] }] });
    expect(await status()).toEqual({ 'source:payments': false, 'view:paid': false });
  } finally {
    await runtime.close();
  }
});

test('entries whose every event was rejected are not new data: a stream refusing everything goes stale past its SLA, in status and in answers, committed to the lake or not (review rev10 finding 5)', async () => {
  const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id', freshness: '5m', allowedLateness: '1h' });
  const paid = featureView({ name: 'paid', entity: customer, source: payments, features: { n: count() }, freshness: '5m' });
  const project = compileProject(defineProject({ name: 'p', entities: [customer], sources: [payments], featureViews: [paid] }));
  await env.platform.metadata.recordRegistry(project);
  const runtime = await startStreamRuntime(env.platform, { project: () => project, commitIntervalMs: 3_600_000 });
  try {
    let ids = 0;
    // A producer whose clock is a day behind: every event is past the allowed lateness.
    const push = (ageMs: number) => runtime.processor.append('payments', { texts: [JSON.stringify({ payment_id: `p${ids++}`, customer_id: 'c1', ts: new Date(env.clock.now - ageMs).toISOString() })] }, 'push');
    const get = async () => getOnlineFeatures(project, await env.platform.online(), { entities: { customer_id: ['c1'] }, features: ['paid:n'] }, env.clock.now, await latestSnapshots(env.platform.metadata, project));
    const status = async () => Object.fromEntries((await evaluateFreshness(project, { metadata: env.platform.metadata, online: await env.platform.online(), log: () => env.platform.log(), now: env.clock.now })).map((f) => [`${f.kind}:${f.name}`, [f.stale, f.dataAt]]));
    expect(await push(MIN)).toMatchObject({ accepted: 1 });
    const accepted = new Date(env.clock.now).toISOString();
    await runtime.commitNow();
    for (let i = 0; i < 6; i++) {
      env.clock.now += MIN;
      expect(await push(24 * 60 * MIN)).toMatchObject({ accepted: 0, rejected: [{ reason: expect.stringMatching(/late/) }] });
      // Half of them reach the lake (dead-letter-only commits), half stay in the log.
      if (i % 2 === 0) await runtime.commitNow();
    }
    expect(await status()).toEqual({ 'source:payments': [true, accepted], 'view:paid': [true, accepted] });
    expect(await get()).toMatchObject({ rows: [{ paid__n: 1 }], metadata: [{ status: ['STALE'] }], views: { paid: { status: 'STALE' } } });
    expect(await push(MIN)).toMatchObject({ accepted: 1 });
    expect(await status()).toEqual({ 'source:payments': [false, new Date(env.clock.now).toISOString()], 'view:paid': [false, new Date(env.clock.now).toISOString()] });
  } finally {
    await runtime.close();
  }
});

test('sluice status exits non-zero while a source is past its SLA (--json says why), and 0 once it has data', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-fresh-'));
  try {
    const dir = join(root, 'proj');
    expect(sluice(root, 'init', 'proj').code).toBe(0);
    writeFileSync(join(dir, 'sluice.config.ts'), `import { defineProject, entity, batchSource, featureView, count } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const refunds = batchSource({ name: 'refunds', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', freshness: '1h' });
export default defineProject({ name: 'p', entities: [customer], sources: [refunds], featureViews: [featureView({ name: 'r', entity: customer, source: refunds, features: { n: count() } })] });
`);
    expect(sluice(dir, 'apply').code).toBe(0);
    const before = sluice(dir, 'status', '--json');
    expect(before.code).toBe(3);
    expect(before.json()).toMatchObject({ healthy: false, freshness: [{ kind: 'source', name: 'refunds', stale: true, reason: 'past its freshness SLA of 1h: no data has been committed yet' }, { kind: 'view', name: 'r', stale: false, slaSeconds: null }], streams: [] });
    expect(sluice(dir, 'status').stdout).toMatch(/source "refunds" is STALE: past its freshness SLA of 1h/);
    writeFileSync(join(dir, 'r.csv'), 'customer_id,ts\nc1,2024-01-01T00:00:00Z\n');
    expect(sluice(dir, 'ingest', 'refunds', '--file', 'r.csv').code).toBe(0);
    const after = sluice(dir, 'status', '--json');
    expect(after.code).toBe(0);
    // The view, never materialized, is behind its source's data (it serves NOT_MATERIALIZED): stale, a warning without an SLA.
    expect(after.json()).toMatchObject({ healthy: true, freshness: [{ name: 'refunds', stale: false, reason: null }, { name: 'r', stale: true, reason: 'not materialized: it serves no data' }] });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, 60_000);
