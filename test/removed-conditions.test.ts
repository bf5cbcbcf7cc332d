import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, notNull, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { healthStatus, startMonitoring } from '../src/observability/status/index.js';
import { trackRun } from '../src/orchestration/track-run.js';
import { tempPlatform } from './support/temp-platform.js';
import { until } from './support/webhook-receiver.js';

// A condition about something the definitions no longer declare (a check, a view's feature, a
// source) can never be reported again by its detector: left firing, it kept `sluice status`
// UNHEALTHY (exit 3) for good, with no way to clear it short of declaring the thing again.

const T0 = Date.parse('2024-01-02T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const columns = { customer_id: 'string', amount: 'float64', ts: 'timestamp' } as const;
const txns = batchSource({ name: 'txns', schema: columns, timestamp: 'ts', checks: [notNull('amount', { severity: 'error' }), notNull('customer_id', { name: 'kept', severity: 'error' })] });
const gone = batchSource({ name: 'gone', schema: columns, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count(), total: sum('amount') } });
const before = defineProject({ name: 'p', entities: [customer], sources: [txns, gone], featureViews: [stats] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(before, T0);
});
afterEach(async () => {
  await env.dispose();
});

const firing = async () => (await env.platform.metadata.health.list({ firing: true })).map((c) => `${c.kind} ${c.subject}`).sort();

async function fireEverything(): Promise<void> {
  const path = join(env.dir, 'bad.csv');
  writeFileSync(path, 'customer_id,amount,ts\nc1,,2024-01-01T00:00:00Z\n');
  await expect(ingestFile(env.platform, env.project, 'txns', path)).rejects.toThrow(/amount_not_null/);
  const report = (kind: string, subject: string) => env.platform.metadata.health.report({ kind, subject, firing: true, severity: 'error', message: `${kind} of ${subject}` }, env.clock.now);
  // What the drift, skew and schema-change detectors report (their own tests cover detection).
  await report('drift', 'feature:stats__total');
  await report('skew', 'feature:stats__total');
  await report('drift', 'feature:stats__n');
  await report('drift', 'column:gone.amount');
  await report('schema_changed', 'source:gone');
  await report('check_failed', 'check:txns/kept');
}

const after = compileProject(defineProject({
  name: 'p', entities: [customer], sources: [batchSource({ name: 'txns', schema: columns, timestamp: 'ts', checks: [notNull('customer_id', { name: 'kept', severity: 'error' })] })],
  featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } })],
}));

test('status clears the conditions of a removed check, a removed feature and a removed source (one resolved alert each), and keeps those of what is still declared', async () => {
  await fireEverything();
  expect(await firing()).toEqual([
    'check_failed check:txns/amount_not_null', 'check_failed check:txns/kept', 'drift column:gone.amount', 'drift feature:stats__n', 'drift feature:stats__total',
    'job_failed job:ingest:txns', 'schema_changed source:gone', 'skew feature:stats__total',
  ]);
  const status = await healthStatus(env.platform, after);
  expect(await firing()).toEqual(['check_failed check:txns/kept', 'drift feature:stats__n', 'job_failed job:ingest:txns']);
  expect(status.conditions.map((c) => `${c.kind} ${c.subject}`).sort()).toEqual(['check_failed check:txns/kept', 'drift feature:stats__n', 'job_failed job:ingest:txns']);
  const resolved = (await env.platform.metadata.health.listAlerts(100)).filter((a) => a.transition === 'resolved');
  expect(resolved.map((a) => `${a.condition.kind} ${a.condition.subject}`).sort()).toEqual([
    'check_failed check:txns/amount_not_null', 'drift column:gone.amount', 'drift feature:stats__total', 'schema_changed source:gone', 'skew feature:stats__total',
  ]);
  expect(resolved.find((a) => a.condition.subject === 'check:txns/amount_not_null')!.condition.message).toBe('check "amount_not_null" of "txns" is no longer declared: its condition is cleared');
  // Once cleared, nothing more: a second status makes no alert.
  await healthStatus(env.platform, after);
  expect((await env.platform.metadata.health.listAlerts(100)).filter((a) => a.transition === 'resolved')).toHaveLength(5);
});

test('the monitoring loop of a long-running process clears them too, reading the applied project', async () => {
  await fireEverything();
  await env.platform.metadata.recordRegistry(after);
  const monitoring = startMonitoring(env.platform, { log: () => undefined, freshnessIntervalMs: 20, alertIntervalMs: 60_000 });
  try {
    await until(async () => (await firing()).length === 3, 'the removed things cleared');
  } finally {
    await monitoring.stop();
  }
  expect(await firing()).toEqual(['check_failed check:txns/kept', 'drift feature:stats__n', 'job_failed job:ingest:txns']);
});

test('a failed scheduled job that is no longer in the catalogue (its source lost its "path") is cleared, with its last failed run no longer a problem; a failed CLI ingest of a declared source stays', async () => {
  const paid = (path?: string) => batchSource({ name: 'paid', schema: columns, timestamp: 'ts', ...(path === undefined ? {} : { path }) });
  const withPath = compileProject(defineProject({ name: 'p', entities: [customer], sources: [txns, paid('data/*.csv')], featureViews: [stats] }));
  const withoutPath = compileProject(defineProject({ name: 'p', entities: [customer], sources: [txns, paid()], featureViews: [stats] }));
  const fail = (job: string, params: Record<string, unknown>) => trackRun(env.platform, job, params, () => Promise.reject(new Error('boom'))).catch(() => undefined);
  await fail('ingest:paid', { trigger: 'schedule' });
  await fail('ingest', { source: 'txns' });
  expect(await firing()).toEqual(['job_failed job:ingest:paid', 'job_failed job:ingest:txns']);
  // While the job is declared, its failure stays.
  await healthStatus(env.platform, withPath);
  expect(await firing()).toEqual(['job_failed job:ingest:paid', 'job_failed job:ingest:txns']);
  const status = await healthStatus(env.platform, withoutPath);
  expect(await firing()).toEqual(['job_failed job:ingest:txns']);
  expect(status.problems.filter((p) => p.includes('ingest:paid'))).toEqual([]);
  const resolved = (await env.platform.metadata.health.listAlerts(100)).filter((a) => a.transition === 'resolved');
  expect(resolved.map((a) => [a.condition.subject, a.condition.message])).toEqual([['job:ingest:paid', 'job ingest:paid is no longer declared: its condition is cleared']]);
});
