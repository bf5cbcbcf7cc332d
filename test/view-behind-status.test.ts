import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { healthStatus } from '../src/observability/status/index.js';
import { storeMetrics } from '../src/observability/store-metrics.js';
import { tempPlatform } from './support/temp-platform.js';

// A view whose table holds an older snapshot than its source's latest serves every value STALE:
// `sluice status` says so too (warn without a freshness SLA, error with one), with its data time.
const T0 = Date.parse('2024-03-01T00:00:00Z');
const account = entity({ name: 'account', joinKey: 'acct' });
const txns = batchSource({ name: 'txns', schema: { acct: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const project = (freshness?: string) => defineProject({
  name: 'p', entities: [account], sources: [txns],
  featureViews: [featureView({ name: 'acct_v', entity: account, source: txns, features: { n: count() }, ...(freshness ? { freshness } : {}) })],
});

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** The `sluice_stale` samples a scrape gives, by `kind:name`. */
async function staleGauge(t: Awaited<ReturnType<typeof tempPlatform>>): Promise<Record<string, number>> {
  const samples = await storeMetrics(t.platform, async () => t.project)();
  return Object.fromEntries((samples.sluice_stale ?? []).map((s) => [`${s.labels.kind}:${s.labels.name}`, s.value]));
}

async function behindView(freshness?: string) {
  const t = await tempPlatform(project(freshness), T0);
  cleanup.push(t.dispose);
  const file = (name: string, ts: string) => {
    writeFileSync(join(t.dir, name), `acct,ts\na1,${ts}\n`);
    return join(t.dir, name);
  };
  await ingestFile(t.platform, t.project, 'txns', file('a.csv', '2024-02-01T00:00:00Z'));
  await materialize(t.platform, t.project);
  t.clock.now = T0 + 60_000;
  // Committed, not applied online (`sluice ingest --no-online`): the table holds the first snapshot.
  await ingestFile(t.platform, t.project, 'txns', file('b.csv', '2024-02-02T00:00:00Z'));
  t.clock.now = T0 + 120_000;
  return t;
}

test('a view behind its source\'s committed data is STALE in status, a warning without an SLA, with the data time of the table and its lag', async () => {
  const t = await behindView();
  const status = await healthStatus(t.platform, t.project);
  const row = status.freshness.find((f) => f.kind === 'view')!;
  expect(row).toMatchObject({ stale: true, slaSeconds: null, dataAt: new Date(T0).toISOString(), lagSeconds: 120 });
  expect(row.reason).toContain('newer data was committed since the table was built');
  expect(status.conditions).toEqual([expect.objectContaining({ kind: 'stale', subject: 'view:acct_v', severity: 'warn' })]);
  expect(status.healthy).toBe(true);
  // The metric says what status says: the view is stale (a source without an SLA is never, and has no sample).
  expect(await staleGauge(t)).toEqual({ 'view:acct_v': 1 });
  // Rebuilt from the latest snapshot: fresh again, and the warning ends.
  await materialize(t.platform, t.project);
  const after = await healthStatus(t.platform, t.project);
  expect(after.freshness.find((f) => f.kind === 'view')).toMatchObject({ stale: false, reason: null });
  expect(after.conditions).toEqual([]);
  expect(await staleGauge(t)).toEqual({ 'view:acct_v': 0 });
});

test('with a freshness SLA, a view behind its source\'s committed data is an error (unhealthy) though its data is within the SLA', async () => {
  const t = await behindView('1h');
  const status = await healthStatus(t.platform, t.project);
  expect(status.freshness.find((f) => f.kind === 'view')).toMatchObject({ stale: true, slaSeconds: 3600, dataAt: new Date(T0).toISOString(), lagSeconds: 120 });
  expect(status.conditions).toEqual([expect.objectContaining({ kind: 'stale', subject: 'view:acct_v', severity: 'error' })]);
  expect(status.healthy).toBe(false);
  expect(await staleGauge(t)).toEqual({ 'view:acct_v': 1 });
});

test('a view never materialized while its source has committed data is STALE without an SLA too (it serves NOT_MATERIALIZED): a warning, the gauge at 1; with no data yet it is not behind (review rev12 finding 4)', async () => {
  const t = await tempPlatform(project(), T0);
  cleanup.push(t.dispose);
  // No data committed: nothing to be behind.
  expect((await healthStatus(t.platform, t.project)).freshness.find((f) => f.kind === 'view')).toMatchObject({ stale: false, reason: null });
  expect(await staleGauge(t)).toEqual({ 'view:acct_v': 0 });
  writeFileSync(join(t.dir, 'a.csv'), 'acct,ts\na1,2024-02-01T00:00:00Z\n');
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'a.csv'));
  const status = await healthStatus(t.platform, t.project);
  const row = status.freshness.find((f) => f.kind === 'view')!;
  expect(row).toMatchObject({ stale: true, slaSeconds: null, dataAt: null, lagSeconds: null });
  expect(row.reason).toMatch(/^not materialized/);
  expect(status.conditions).toEqual([expect.objectContaining({ kind: 'stale', subject: 'view:acct_v', severity: 'warn' })]);
  expect(status.healthy).toBe(true);
  expect(await staleGauge(t)).toEqual({ 'view:acct_v': 1 });
  await materialize(t.platform, t.project);
  expect((await healthStatus(t.platform, t.project)).conditions).toEqual([]);
  expect(await staleGauge(t)).toEqual({ 'view:acct_v': 0 });
});
