import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { batchSource, defineProject, entity, featureService, featureView, last } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { datasetDrift } from '../src/observability/drift/dataset-drift.js';
import { appendDropRecords } from '../src/observability/serving-log/serving-log-drops.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { readServingLog } from '../src/observability/serving-log/index.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { createServer } from '../src/serving/http/server.js';
import { sluice } from './support/cli.js';
import { rewriteServingLog } from './support/serving-log.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const HOUR = 3_600_000;
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({
  name: 'stats', entity: customer, source: txns, features: { amount_last: last('amount'), channel_last: last('channel') },
  drift: { amount_last: { warn: 0.1, error: 0.25, metric: 'psi' } },
});
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats], featureServices: [featureService({ name: 'scoring', features: [stats], log: { sampleRate: 1 } })] });
// Enough customers (one event each per batch) to tell drift from chance over decile bins (990, see chanceScore).
const N = 1000;
const CUSTOMERS = Array.from({ length: N }, (_, i) => `c${i}`);
const CHANNELS = ['web', 'pos', 'atm'];

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeAll(async () => {
  env = await tempPlatform(spec, T0);
});
afterAll(async () => env.dispose());

/** One event per customer at `at`: amounts spread over [scale, 2·scale) by customer, channels in fixed proportions. */
async function ingestBatch(name: string, at: number, scale: number) {
  const lines = CUSTOMERS.map((c, i) => `${c},${scale * (1 + ((i * 37) % N) / N)},${CHANNELS[i % 3]},${new Date(at).toISOString()}`);
  writeFileSync(join(env.dir, name), ['customer_id,amount,channel,ts', ...lines].join('\n'));
  return ingestFile(env.platform, env.project, 'txns', join(env.dir, name));
}

async function serveEveryone() {
  await materialize(env.platform, env.project);
  const app = await createServer(env.platform);
  for (let from = 0; from < N; from += 100) {
    const response = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: CUSTOMERS.slice(from, from + 100) }, service: 'scoring' } });
    expect(response.statusCode).toBe(200);
  }
  await app.close();
}

test('a drifted feature is detected, reported once and cleared; a healthy one is not; consecutive batches too', async () => {
  await ingestBatch('b1.csv', T0 - HOUR, 50);
  writeFileSync(join(env.dir, 'spine.csv'), ['customer_id,ts', ...CUSTOMERS.map((c) => `${c},${new Date(T0).toISOString()}`)].join('\n'));
  const dataset = await buildDataset(env.platform, env.project, { spine: join(env.dir, 'spine.csv'), out: join(env.dir, 'train.parquet'), service: 'scoring' });

  // Served as trained: no drift.
  await serveEveryone();
  const healthy = await datasetDrift(env.platform, env.project, { datasetId: dataset.datasetId, service: 'scoring' });
  expect(healthy).toMatchObject({ servedRows: N, droppedRows: 0, incomplete: false });
  expect(healthy.results.map((r) => [r.feature, r.severity, r.score])).toEqual([['stats__amount_last', 'ok', 0], ['stats__channel_last', 'ok', 0]]);
  // The same served rows written in the formats before (lean lines, whole rows, compact row lines) and as request lines holding their rows: the same profile and scores.
  for (const format of ['lean', 'whole', 'compact-ids', 'compact', 'rows'] as const) {
    await rewriteServingLog(env.platform.dataDir, format);
    const again = await datasetDrift(env.platform, env.project, { datasetId: dataset.datasetId, service: 'scoring' });
    expect(again.servedRows).toBe(N);
    expect(again.results.map((r) => [r.feature, r.severity, r.score, r.details])).toEqual(healthy.results.map((r) => [r.feature, r.severity, r.score, r.details]));
  }
  expect(await env.platform.metadata.health.list({ firing: true })).toEqual([]);

  // New amounts three times larger, channels as before: amounts drift (and the batch drifts from the previous one).
  env.clock.now = T0 + 2 * HOUR;
  await ingestBatch('b2.csv', T0 + HOUR, 150);
  await serveEveryone();
  for (let run = 0; run < 3; run++) {
    // The third run over the same rows as lean lines: the same outcome.
    if (run === 2) await rewriteServingLog(env.platform.dataDir, 'lean');
    const drifted = await datasetDrift(env.platform, env.project, { datasetId: dataset.datasetId, service: 'scoring', since: T0 + 2 * HOUR });
    expect(drifted.servedRows).toBe(N);
    expect(drifted.results.map((r) => [r.feature, r.severity])).toEqual([['stats__amount_last', 'error'], ['stats__channel_last', 'ok']]);
    expect(drifted.results[0]!.score).toBeGreaterThan(0.25);
  }
  const firing = await env.platform.metadata.health.list({ firing: true });
  expect(firing.map((c) => [c.kind, c.subject, c.severity]).sort()).toEqual([['drift', 'column:txns.amount', 'error'], ['drift', 'feature:stats__amount_last', 'error']]);
  expect(firing.find((c) => c.subject === 'feature:stats__amount_last')!.message).toMatch(/feature stats__amount_last .* drifted: PSI \d+\.\d{3} is over the error threshold 0\.25/);
  const alerts = await env.platform.metadata.health.listAlerts(100);
  expect(alerts.map((a) => [a.transition, a.condition.subject]).sort()).toEqual([['fired', 'column:txns.amount'], ['fired', 'feature:stats__amount_last']]);

  // A third batch like the second: the batch drift clears (once), the served drift stays.
  await ingestBatch('b3.csv', T0 + 1.5 * HOUR, 150);
  const batches = await env.platform.metadata.drift.latest({ subject: 'source:txns' });
  expect(batches.map((r) => [r.feature, r.severity, r.score])).toEqual([['amount', 'ok', 0], ['channel', 'ok', 0]]);
  expect((await env.platform.metadata.health.list({ firing: true })).map((c) => c.subject)).toEqual(['feature:stats__amount_last']);
  expect((await env.platform.metadata.health.listAlerts(100)).filter((a) => a.transition === 'resolved').map((a) => a.condition.subject)).toEqual(['column:txns.amount']);

  // Exported, and shown by the CLI.
  const metrics = new SluiceMetrics();
  const app = await createServer(env.platform, { metrics });
  const text = await metrics.render();
  await app.close();
  expect(text).toMatch(new RegExp(`sluice_drift_score\\{subject="dataset:${dataset.datasetId}",feature="stats__amount_last",metric="psi"\\} 0\\.[3-9]|sluice_drift_score\\{subject="dataset:${dataset.datasetId}",feature="stats__amount_last",metric="psi"\\} [1-9]`));
  expect(text).toContain('sluice_drift_score{subject="source:txns",feature="amount",metric="psi"} 0');
  const shown = sluice(env.dir, 'drift', '--json');
  expect(shown.code).toBe(0);
  expect(shown.json<{ results: { subject: string; feature: string; severity: string }[] }>().results.map((r) => [r.subject, r.feature, r.severity])).toEqual([
    [`dataset:${dataset.datasetId}`, 'stats__amount_last', 'error'], [`dataset:${dataset.datasetId}`, 'stats__channel_last', 'ok'], ['source:txns', 'amount', 'ok'], ['source:txns', 'channel', 'ok'],
  ]);
  expect(await readServingLog(env.platform.dataDir, { service: 'scoring' })).toHaveLength(2 * N);

  // The job from the CLI: a tracked run; the condition stays firing, so no second alert.
  const job = sluice(env.dir, 'drift', '--dataset', dataset.datasetId, '--service', 'scoring', '--since', new Date(T0 + 2 * HOUR).toISOString());
  expect(job.code).toBe(0);
  expect(job.stdout).toMatch(new RegExp(`dataset ${dataset.datasetId} against ${N} served row\\(s\\) of scoring:`));
  expect(job.stdout).toMatch(/stats__amount_last\s+psi\s+\d+\.\d{4}\s+error/);
  expect((await env.platform.metadata.listRuns(10)).find((r) => r.job === 'drift')).toMatchObject({ status: 'succeeded', stats: { servedRows: N, scored: 2, drifted: 1 } });
  expect((await env.platform.metadata.health.listAlerts(100)).filter((a) => a.condition.subject === 'feature:stats__amount_last')).toHaveLength(1);
  const unknown = sluice(env.dir, 'drift', '--dataset', 'ds_nope');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('dataset "ds_nope" is not registered');

  // Rows the serving log dropped (recorded beside it, as its writer does) in the range: the report says the profile is of an incomplete sample.
  await appendDropRecords(env.platform.dataDir, [{ service: 'scoring', from: T0 + 2 * HOUR + 1, to: T0 + 2 * HOUR + 5, bufferFull: 7, writeFailed: 0 }]);
  const holed = await datasetDrift(env.platform, env.project, { datasetId: dataset.datasetId, service: 'scoring', since: T0 + 2 * HOUR });
  expect(holed).toMatchObject({ servedRows: N, droppedRows: 7, incomplete: true, drops: { bufferFull: 7, from: T0 + 2 * HOUR + 1, to: T0 + 2 * HOUR + 5 } });
  expect(holed.results[0]!.details).toMatchObject({ droppedRows: 7 });
  expect(await datasetDrift(env.platform, env.project, { datasetId: dataset.datasetId, service: 'scoring', until: T0 + 2 * HOUR })).toMatchObject({ droppedRows: 0, incomplete: false });
  const shownDrops = sluice(env.dir, 'drift', '--dataset', dataset.datasetId, '--service', 'scoring', '--since', new Date(T0 + 2 * HOUR).toISOString());
  expect(shownDrops.stdout).toContain(`incomplete: the serving log dropped 7 sampled rows between ${new Date(T0 + 2 * HOUR + 1).toISOString()} and ${new Date(T0 + 2 * HOUR + 5).toISOString()} (7 because its buffer was full); the served profile leaves them out`);
});

test('sluice serve --serving-log-rate takes a rate from 0 to 1', () => {
  const bad = sluice(env.dir, 'serve', '--serving-log-rate', '2');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('expected a number from 0 to 1');
});
