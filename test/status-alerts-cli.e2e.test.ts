import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { startSluice } from './support/sluice-process.js';
import { until, webhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.js');
const SECRET = 'hook-T0KEN-4f9a';

/** The real CLI without blocking this process (the webhook receiver runs in it). */
async function run(cwd: string, env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let root: string;
let hook: WebhookReceiver;
afterEach(async () => {
  await hook?.close();
  rmSync(root, { recursive: true, force: true });
});

test('sluice status and alerts: exit 3 while unhealthy, one alert per transition delivered by each CLI command as it exits, the secret URL nowhere', async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-status-'));
  hook = await webhookReceiver();
  const dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), `import { defineProject, entity, batchSource, featureView, count, webhook, env } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const refunds = batchSource({ name: 'refunds', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', freshness: '1h' });
export default defineProject({ name: 'shop', entities: [customer], sources: [refunds], alerts: [webhook({ url: env('ALERT_URL') })],
  featureViews: [featureView({ name: 'r', entity: customer, source: refunds, features: { n: count() } })] });
`);
  const env = { ALERT_URL: `http://127.0.0.1:${hook.port}/in/${SECRET}` };
  const outputs: string[] = [];
  const cli = async (...args: string[]) => {
    const r = await run(dir, env, ...args);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const received = () => hook.received.map((r) => `${r.body.kind} ${r.body.subject} ${r.body.status}`);

  expect((await cli('apply')).code).toBe(0);
  const empty = await cli('status', '--json');
  expect(empty.code).toBe(3);
  expect(JSON.parse(empty.stdout)).toEqual({
    healthy: false, problems: ['stale source:refunds: source "refunds" is STALE: past its freshness SLA of 1h: no data has been committed yet'], checkedAt: expect.any(String),
    freshness: [expect.objectContaining({ kind: 'source', name: 'refunds', stale: true }), expect.objectContaining({ kind: 'view', name: 'r', stale: false })],
    conditions: [expect.objectContaining({ kind: 'stale', subject: 'source:refunds', severity: 'error' })], failingChecks: [], runs: [], lastRuns: [], deadLetters: { refunds: 0 }, streams: [],
  });
  // `sluice status` reported the stale source; it delivered the alert itself as it exited, with no server running.
  expect(received()).toEqual(['stale source:refunds firing']);

  writeFileSync(join(dir, 'no-amount.csv'), 'customer_id,ts\nc1,2024-01-01T00:00:00Z\n');
  expect((await cli('ingest', 'refunds', '--file', 'no-amount.csv')).code).toBe(1);
  expect(received()).toEqual(['stale source:refunds firing', 'schema_changed source:refunds firing', 'job_failed job:ingest:refunds firing']);
  const broken = await cli('status');
  expect(broken.code).toBe(3);
  expect(broken.stdout).toMatch(/^UNHEALTHY \(checked .*\): 3 problem\(s\)$/m);
  expect(broken.stdout).toMatch(/^ {2}! job_failed job:ingest:refunds: job ingest:refunds failed .*lacks column\(s\) "amount"/m);
  expect(broken.stdout).toMatch(/^ingest:refunds +FAILED /m);
  expect(broken.stdout).toMatch(/^Firing conditions \(3\)$/m);
  expect(broken.stdout).toMatch(/^Dead letters\n {2}refunds: 0$/m);
  expect(broken.stdout).toMatch(/^Streams\n {2}no stream or CDC sources$/m);

  writeFileSync(join(dir, 'good.csv'), `customer_id,amount,ts\nc1,1.5,${new Date().toISOString()}\nc2,x,${new Date().toISOString()}\n`);
  expect((await cli('ingest', 'refunds', '--file', 'good.csv')).code).toBe(0);
  const healthy = await cli('status', '--json');
  expect(healthy.code).toBe(0);
  // The view was never materialized while its source now has data: it serves NOT_MATERIALIZED, a warning (no SLA), healthy.
  expect(JSON.parse(healthy.stdout)).toMatchObject({ healthy: true, problems: [], conditions: [{ kind: 'stale', subject: 'view:r', severity: 'warn' }], deadLetters: { refunds: 1 }, lastRuns: [{ job: 'ingest:refunds', status: 'succeeded' }] });
  expect(received()).toEqual(['stale source:refunds firing', 'schema_changed source:refunds firing', 'job_failed job:ingest:refunds firing', 'schema_changed source:refunds resolved', 'job_failed job:ingest:refunds resolved', 'stale source:refunds resolved', 'stale view:r firing']);
  expect(new Set(hook.received.map((r) => r.body.alertId)).size).toBe(7);
  expect(hook.received.every((r) => r.body.project === 'shop')).toBe(true);

  const alerts = await cli('alerts', '--json');
  expect(alerts.code).toBe(0);
  const listed = JSON.parse(alerts.stdout) as { channels: unknown[]; alerts: { delivery: string; transition: string }[] };
  expect(listed.channels).toEqual([{ name: 'webhook', where: 'webhook "webhook" (env(ALERT_URL))', kinds: null, minSeverity: 'warn' }]);
  expect(listed.alerts.map((a) => `${a.transition} ${a.delivery}`)).toEqual(['fired delivered', 'resolved delivered', 'resolved delivered', 'resolved delivered', 'fired delivered', 'fired delivered', 'fired delivered']);
  expect((await cli('alerts')).stdout).toMatch(/^Channels: webhook "webhook" \(env\(ALERT_URL\)\)$/m);

  for (const text of [...outputs, readFileSync(join(dir, '.sluice', 'metadata.db')).toString('latin1')]) expect(text).not.toContain(SECRET);
}, 120_000);

test('sluice serve and sluice worker run the freshness loop and the alert dispatcher: a stale source alerts with no other command run', async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-serve-alerts-'));
  hook = await webhookReceiver();
  const dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), `import { defineProject, entity, batchSource, featureView, count } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const refunds = batchSource({ name: 'refunds', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', freshness: '1h' });
export default defineProject({ name: 'shop', entities: [customer], sources: [refunds], featureViews: [featureView({ name: 'r', entity: customer, source: refunds, features: { n: count() } })] });
`);
  expect(sluice(dir, 'apply').code).toBe(0);
  const env = { SLUICE_ALERT_WEBHOOK_URL: `http://127.0.0.1:${hook.port}/in` };
  const runUntil = async (args: string[], count: number) => {
    const child = await startSluice(dir, args, env);
    try {
      await until(() => hook.received.length >= count, `${args[0]} to alert`);
    } finally {
      expect(await child.stop()).toBe(143);
    }
  };
  await runUntil(['serve', '--port', '0'], 1);
  // New data (this command has no webhook configured, so it leaves the outbox alone); the worker's loop finds the source fresh again.
  writeFileSync(join(dir, 'r.csv'), `customer_id,ts\nc1,${new Date().toISOString()}\n`);
  expect(sluice(dir, 'ingest', 'refunds', '--file', 'r.csv').code).toBe(0);
  await runUntil(['worker'], 3);
  // The view, never materialized, is now behind its source's data: a warning.
  expect(hook.received.map((r) => `${r.body.subject} ${r.body.status} ${r.body.message}`)).toEqual([
    'source:refunds firing source "refunds" is STALE: past its freshness SLA of 1h: no data has been committed yet',
    expect.stringMatching(/^source:refunds resolved source "refunds" is fresh: its newest data is \d+s old \(SLA 1h\)$/),
    'view:r firing view "r" is STALE: not materialized: it serves no data',
  ]);
}, 180_000);
