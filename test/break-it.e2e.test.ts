import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { copyOnlineState } from './support/corrupt-online.js';
import { freePort } from './support/free-port.js';
import { startSluice } from './support/sluice-process.js';
import { until, webhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

/**
 * Issue 8 §7: a pipeline broken in each of seven ways. Each break is detected, alerted exactly
 * once (a webhook receives one `firing` POST for it) and visible in `sluice status` within a
 * bound, with no server running except where serving is the point (drift and skew read what was
 * served). The CLI commands deliver their alerts as they exit; `until` fails after 30 s.
 */
const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.js');
const HOUR = 3_600_000;
// Enough customers for drift to tell a change from chance (docs/drift.md: 990 values a side for a numeric column).
const N = 1000;
const CUSTOMERS = Array.from({ length: N }, (_, i) => `c${i}`);

const CONFIG = `import { defineProject, entity, batchSource, featureView, featureService, sqlTransform, last, count, webhook, env, range } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = batchSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts',
  checks: [range('amount', { min: 0, severity: 'error', name: 'amount_non_negative' })] });
const refunds = batchSource({ name: 'refunds', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/refunds/*.csv' });
const clicks = batchSource({ name: 'clicks', schema: { customer_id: 'string', page: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const ledger = batchSource({ name: 'ledger', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', freshness: '3s' });
const looping = sqlTransform({ name: 'looping', inputs: [clicks], timestamp: 'ts', schema: { customer_id: 'string', ts: 'timestamp' },
  sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT 'a' AS customer_id, TIMESTAMP '2024-01-01' AS ts FROM r" });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { amount_last: last('amount'), n: count() } });
export default defineProject({ name: 'breakit', entities: [customer], sources: [payments, refunds, clicks, ledger], transforms: [looping], featureViews: [stats],
  featureServices: [featureService({ name: 'scoring', features: [stats], log: { sampleRate: 1 } })], alerts: [webhook({ url: env('ALERT_URL') })] });
`;

let root: string;
let dir: string;
let hook: WebhookReceiver;
let env: Record<string, string>;

/** The real CLI without blocking this process (the webhook receiver runs in it). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, ...env, NO_COLOR: '1' }, maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  expect(r.code, `sluice ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const iso = (ms: number) => new Date(ms).toISOString();
function csv(name: string, header: string, rows: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, [header, ...rows].join('\n') + '\n');
  return path;
}
/** One payment per customer at `at`, amounts spread over [scale, 2·scale). */
const payments = (name: string, at: number, scale: number) =>
  csv(name, 'customer_id,amount,ts', CUSTOMERS.map((c, i) => `${c},${scale * (1 + ((i * 37) % N) / N)},${iso(at)}`));

/** Serves every customer through `sluice serve` (its serving log on), then stops it (flushing the log). */
async function serveEveryone(): Promise<void> {
  const port = await freePort();
  const server = await startSluice(dir, ['serve', '--port', String(port), '--no-scheduler'], env);
  try {
    for (let from = 0; from < N; from += 200) {
      const response = await fetch(`http://127.0.0.1:${port}/v1/features/online`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'scoring', entities: { customer_id: CUSTOMERS.slice(from, from + 200) } }),
      });
      expect(response.status).toBe(200);
    }
  } finally {
    expect(await server.stop()).toBe(143);
  }
}

interface StatusJson { healthy: boolean; conditions: { kind: string; subject: string; severity: string; message: string }[] }
const firingAlerts = (kind: string, subject: string) => hook.received.filter((r) => r.body.kind === kind && r.body.subject === subject && r.body.status === 'firing');

/** The break is visible in `sluice status` (exit 3) and its one alert arrived, both within the bound. */
async function detected(kind: string, subject: string | RegExp): Promise<StatusJson['conditions'][number]> {
  const matches = (s: string) => (typeof subject === 'string' ? s === subject : subject.test(s));
  let condition: StatusJson['conditions'][number] | undefined;
  await until(async () => {
    const status = await cli('--json', 'status');
    condition = (JSON.parse(status.stdout) as StatusJson).conditions.find((c) => c.kind === kind && matches(c.subject));
    return status.code === 3 && condition !== undefined;
  }, `${kind} ${String(subject)} in sluice status`);
  await until(() => hook.received.some((r) => r.body.kind === kind && matches(r.body.subject) && r.body.status === 'firing'), `the ${kind} alert`);
  return condition!;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-break-it-'));
  hook = await webhookReceiver();
  env = { ALERT_URL: `http://127.0.0.1:${hook.port}/alerts` };
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), CONFIG);
  mkdirSync(join(dir, 'data', 'refunds'), { recursive: true });
  await ok('apply');
}, 120_000);
afterAll(async () => {
  await hook?.close();
  rmSync(root, { recursive: true, force: true });
});

test('seven breaks, each detected, alerted once and shown in sluice status', async () => {
  const now = Date.now();
  // A healthy pipeline first: nothing fires.
  await ok('ingest', 'payments', '--file', payments('p1.csv', now - 3 * HOUR, 50));
  await ok('ingest', 'clicks', '--file', csv('clicks1.csv', 'customer_id,page,ts', ['c1,/home,' + iso(now - HOUR)]));
  await ok('ingest', 'ledger', '--file', csv('ledger1.csv', 'customer_id,ts', ['c1,' + iso(now - HOUR)]));
  writeFileSync(join(dir, 'data', 'refunds', '2026-01-01.csv'), `customer_id,amount,ts\nc1,5,${iso(now - HOUR)}\n`);
  await ok('run', 'ingest:refunds');
  await ok('materialize');
  const spine = csv('spine.csv', 'customer_id,ts', CUSTOMERS.map((c) => `${c},${iso(now - HOUR)}`));
  const built = JSON.parse(await ok('--json', 'dataset', 'build', '--spine', spine, '--service', 'scoring', '--out', join(dir, 'train.parquet'))) as { datasetId: string };
  await serveEveryone();
  expect(JSON.parse(await ok('--json', 'skew', '--service', 'scoring'))).toMatchObject({ features: [{ mismatches: 0 }, { mismatches: 0 }] });
  // (The ledger's 3s SLA may already have lapsed on a loaded machine: that break is step 5's.)
  expect(hook.received.filter((r) => r.body.status === 'firing' && r.body.subject !== 'source:ledger')).toEqual([]);

  // 1. A failed job: an empty file makes the scheduled ingest job fail.
  writeFileSync(join(dir, 'data', 'refunds', '2026-01-02.csv'), '');
  expect((await cli('run', 'ingest:refunds')).code).toBe(1);
  expect((await detected('job_failed', 'job:ingest:refunds')).message).toMatch(/is empty/);

  // 2. A hung job: a transform that never ends is failed at its timeout, not left running.
  expect((await cli('run', 'transform:looping', '--timeout', '2s')).code).toBe(1);
  expect((await detected('job_hung', 'job:transform:looping')).message).toMatch(/timed out after 2s/);

  // 3. A bad batch: an error check fails, the batch is quarantined, not committed.
  const bad = csv('p-bad.csv', 'customer_id,amount,ts', ['c1,-5,' + iso(now - 2 * HOUR), 'c2,7,' + iso(now - 2 * HOUR)]);
  expect((await cli('ingest', 'payments', '--file', bad)).code).not.toBe(0);
  expect((await detected('check_failed', 'check:payments/amount_non_negative')).severity).toBe('error');
  expect(JSON.parse(await ok('--json', 'quarantine', 'list'))).toMatchObject({ batches: [expect.objectContaining({ dataset: 'payments', status: 'held' })] });

  // 4. A schema change upstream: the export lost a column.
  expect((await cli('ingest', 'clicks', '--file', csv('clicks2.csv', 'customer_id,ts', ['c1,' + iso(now)]))).code).not.toBe(0);
  expect((await detected('schema_changed', 'source:clicks')).message).toMatch(/lacks column\(s\) "page"/);

  // 5. A stale source: nothing new committed within its 3s SLA (the ledger's only batch is older).
  expect((await detected('stale', 'source:ledger')).message).toMatch(/freshness SLA of 3s/);

  // 6. A drifted feature and 7. a corrupted online value: amounts triple, and c2 is served c3's state.
  await ok('ingest', 'payments', '--file', payments('p2.csv', now - 2 * HOUR, 150));
  await ok('materialize');
  await copyOnlineState(dir, 'stats', 'c3', 'c2');
  const servedFrom = iso(Date.now());
  await serveEveryone();
  await cli('drift', '--dataset', built.datasetId, '--since', servedFrom);
  expect((await detected('drift', 'feature:stats__amount_last')).message).toMatch(/drifted/);
  const skew = await cli('skew', '--since', servedFrom);
  expect(skew.code).toBe(3);
  expect(skew.stdout).toMatch(/entity c2 at /);
  expect((await detected('skew', /^feature:stats__/)).severity).toBe('error');

  // Detecting again alerts nothing new: one firing alert per condition.
  await cli('drift', '--dataset', built.datasetId, '--since', servedFrom);
  await cli('skew', '--since', servedFrom);
  expect((await cli('run', 'transform:looping', '--timeout', '2s')).code).toBe(1);
  await cli('status');
  for (const [kind, subject] of [['job_failed', 'job:ingest:refunds'], ['job_hung', 'job:transform:looping'], ['check_failed', 'check:payments/amount_non_negative'],
    ['schema_changed', 'source:clicks'], ['stale', 'source:ledger'], ['drift', 'feature:stats__amount_last'], ['skew', 'feature:stats__amount_last']] as const) {
    expect(firingAlerts(kind, subject), `${kind} ${subject}`).toHaveLength(1);
  }
  expect(new Set(hook.received.map((r) => r.body.alertId)).size).toBe(hook.received.length);
}, 600_000);
