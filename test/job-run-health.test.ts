import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, compileProject, count, dataset, defineProject, entity, featureView, notNull, type ProjectSpec } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { clearRemovedConditions } from '../src/observability/status/clear-removed-conditions.js';
import { healthStatus } from '../src/observability/status/health-status.js';
import { runJob, type JobContext } from '../src/orchestration/run-job.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { tempPlatform } from './support/temp-platform.js';

// A job's health is judged by the job's run: the runs of its work (each file's ingest, the build) report nothing of their own.
const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { n: count() } });
const train = dataset({ name: 'train', features: ['profile:n'], spine: 'spine.csv', out: 'train.parquet' });
const payments = batchSource({
  name: 'payments', path: 'data/pay/*.csv', timestamp: 'ts',
  schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, checks: [notNull('amount', { severity: 'error' })],
});
const base = { name: 'h', entities: [customer], sources: [customers, payments], featureViews: [profile] };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(spec: ProjectSpec) {
  const t = await tempPlatform(spec, T0);
  cleanups.push(t.dispose);
  const jc: JobContext = { ...t.platform, projectDir: t.dir };
  const firing = async () => (await t.platform.metadata.health.list({ firing: true })).filter((c) => c.kind === 'job_failed').map((c) => c.subject).sort();
  const alerts = async () => (await t.platform.metadata.health.listAlerts(100)).filter((a) => a.condition.kind === 'job_failed').reverse().map((a) => `${a.transition} ${a.condition.subject}`);
  return { ...t, jc, firing, alerts };
}

test('a failed dataset job fires its own condition only, cleared when the dataset is removed; a manual build\'s failure is not ended by another output\'s success', async () => {
  const t = await setup(defineProject({ ...base, datasets: [train] }));
  writeFileSync(join(t.dir, 'customers.csv'), 'customer_id,ts\nc1,2024-03-01T00:00:00Z\n');
  await ingestFile(t.platform, t.project, 'customers', join(t.dir, 'customers.csv'));
  writeFileSync(join(t.dir, 'spine.csv'), 'customer_id,ts\nc1,not-a-time\n');
  await expect(runJob(t.jc, t.project, 'dataset:train')).rejects.toThrow();
  expect(await t.firing()).toEqual(['job:dataset:train']);
  // The dataset is removed from the project: nothing is left firing.
  const without = compileProject(defineProject(base));
  await clearRemovedConditions(t.platform, without);
  expect(await t.firing()).toEqual([]);

  // Manual builds: each output is its own subject.
  writeFileSync(join(t.dir, 'ok.csv'), 'customer_id,ts\nc1,2024-03-02T00:00:00Z\n');
  const x = join(t.dir, 'x.parquet');
  await expect(buildDataset(t.platform, without, { spine: join(t.dir, 'spine.csv'), features: ['profile:n'], out: x })).rejects.toThrow();
  await buildDataset(t.platform, without, { spine: join(t.dir, 'ok.csv'), features: ['profile:n'], out: join(t.dir, 'y.parquet') });
  expect(await t.firing()).toEqual([`job:dataset_build:${x}`]);
  await buildDataset(t.platform, without, { spine: join(t.dir, 'ok.csv'), features: ['profile:n'], out: x });
  expect(await t.firing()).toEqual([]);
});

test('a shared job:dataset_build condition fired by an older build is cleared: no run reports on it any more', async () => {
  const t = await setup(defineProject({ ...base, datasets: [train] }));
  await t.platform.metadata.health.report({ kind: 'job_failed', subject: 'job:dataset_build', firing: true, severity: 'error', message: 'job dataset_build failed (run r0): boom', details: { runId: 'r0' } }, T0);
  await clearRemovedConditions(t.platform, t.project);
  expect(await t.firing()).toEqual([]);
});

test('an ingest job that ingests one file and fails on a held one stays failed: no resolved-then-fired within the run, and status shows the job run', async () => {
  const t = await setup(defineProject(base));
  mkdirSync(join(t.dir, 'data', 'pay'), { recursive: true });
  writeFileSync(join(t.dir, 'data/pay/2024-03-02.csv'), 'txn_id,customer_id,amount,ts\np4,c1,,2024-03-02T01:00:00Z\n');
  await expect(runJob(t.jc, t.project, 'ingest:payments')).rejects.toThrow();
  writeFileSync(join(t.dir, 'data/pay/2024-03-01.csv'), 'txn_id,customer_id,amount,ts\nq1,c7,3,2024-03-01T10:00:00Z\n');
  await expect(runJob(t.jc, t.project, 'ingest:payments')).rejects.toThrow();
  expect(await t.alerts()).toEqual(['fired job:ingest:payments']);
  const status = await healthStatus(t.platform, t.project);
  expect(status.lastRuns.filter((r) => r.job === 'ingest:payments').map((r) => r.status)).toEqual(['failed']);
  // Recent runs list each job run once: its work runs are not relabelled as the job.
  expect(status.runs.filter((r) => r.job === 'ingest:payments').map((r) => r.status)).toEqual(['failed', 'failed']);
});
