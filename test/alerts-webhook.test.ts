import { afterEach, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, env, featureView, planChanges, webhook } from '../src/definitions/index.js';
import { alertDispatcher, type AlertDispatcherOptions } from '../src/observability/alerts/index.js';
import type { ConditionReport } from '../src/storage/metadata/health-store.js';
import { tempPlatform } from './support/temp-platform.js';
import { webhookReceiver } from './support/webhook-receiver.js';

const SECRET = 'T0KEN-s3cr3t-path';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const base = { name: 'fraud', entities: [customer], sources: [txns], featureViews: [stats] };

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function receiver(port = 0) {
  const hook = await webhookReceiver(port);
  cleanup.push(hook.close);
  return hook;
}

async function setup(alerts: ReturnType<typeof webhook>[], port: number) {
  const env$ = await tempPlatform(defineProject({ ...base, alerts }), Date.parse('2024-01-01T00:00:00Z'));
  cleanup.push(env$.dispose);
  const logs: string[] = [];
  const options: AlertDispatcherOptions = {
    environment: { ALERT_URL: `http://127.0.0.1:${port}/hook/${SECRET}`, ALERT_TOKEN: `Bearer ${SECRET}` },
    firstRetryMs: 1, maxRetryMs: 2, random: () => 0, log: (level, message) => logs.push(`${level}: ${message}`),
  };
  const report = (r: Partial<ConditionReport> & { firing: boolean }) => {
    env$.clock.now += 1_000;
    return env$.platform.metadata.health.report({ kind: 'stale', subject: 'view:stats', severity: 'error', message: r.firing ? 'view stats is past its SLA' : 'view stats is fresh', ...r }, env$.clock.now);
  };
  return { ...env$, logs, options, report, dispatcher: alertDispatcher(env$.platform.metadata, options) };
}

test('a condition alerts once when it fires, not again while it stays firing, and once resolved when it clears', async () => {
  const hook = await receiver();
  const { dispatcher, report } = await setup([webhook({ url: env('ALERT_URL'), headers: { authorization: env('ALERT_TOKEN') } })], hook.port);
  await report({ firing: true, details: { lagSeconds: 960 } });
  expect(await dispatcher.dispatch()).toMatchObject({ delivered: 1 });
  await report({ firing: true });
  await report({ firing: true });
  expect(await dispatcher.dispatch()).toMatchObject({ delivered: 0 });
  await report({ firing: false });
  expect(await dispatcher.dispatch()).toMatchObject({ delivered: 1 });
  expect(await dispatcher.dispatch()).toMatchObject({ delivered: 0 });

  expect(hook.received.map((r) => [r.body.status, r.body.transition])).toEqual([['firing', 'fired'], ['resolved', 'resolved']]);
  const [fired, resolved] = hook.received.map((r) => r.body);
  expect(fired).toEqual({
    status: 'firing', transition: 'fired', kind: 'stale', subject: 'view:stats', severity: 'error', message: 'view stats is past its SLA',
    details: { lagSeconds: 960 }, since: '2024-01-01T00:00:01.000Z', resolvedAt: null, at: '2024-01-01T00:00:01.000Z', project: 'fraud', alertId: expect.stringMatching(/^[0-9a-f]{32}$/),
  });
  expect(resolved).toMatchObject({ status: 'resolved', since: '2024-01-01T00:00:01.000Z', resolvedAt: '2024-01-01T00:00:04.000Z', message: 'view stats is fresh' });
  expect(resolved!.alertId).not.toBe(fired!.alertId);
  expect(hook.received[0]!.headers).toMatchObject({ authorization: `Bearer ${SECRET}`, 'content-type': 'application/json', 'x-sluice-alert-id': fired!.alertId });
  expect(hook.received[0]!.path).toBe(`/hook/${SECRET}`);
});

test('receiver down, then up: every alert is delivered after, once each, in order; the secret URL is in no log, no stored error and not in the registry', async () => {
  const hook = await receiver();
  await hook.close();
  const { dispatcher, report, platform, logs } = await setup([webhook({ url: env('ALERT_URL') })], hook.port);
  await report({ firing: true });
  await report({ firing: false });
  await report({ kind: 'job_failed', subject: 'job:ingest:txns', firing: true, message: 'ingest of txns failed' });
  for (let i = 0; i < 3; i++) {
    expect(await dispatcher.dispatch()).toMatchObject({ delivered: 0 });
    await new Promise((r) => setTimeout(r, 5));
  }
  const failed = await platform.metadata.health.listAlerts(10);
  expect(failed.every((a) => a.deliveredAt === null)).toBe(true);
  expect(failed.find((a) => a.transition === 'fired' && a.condition.kind === 'stale')).toMatchObject({ attempts: 3, lastError: expect.stringMatching(/webhook "webhook" \(env\(ALERT_URL\)\): connection failed \(ECONNREFUSED\)/) });

  const up = await receiver(hook.port);
  // A restart: a new dispatcher (the outbox is durable) delivers what the first one could not.
  await new Promise((r) => setTimeout(r, 5));
  expect(await alertDispatcher(platform.metadata, { environment: { ALERT_URL: `http://127.0.0.1:${hook.port}/hook/${SECRET}` } }).dispatch()).toMatchObject({ delivered: 3 });
  expect(await dispatcher.dispatch()).toMatchObject({ delivered: 0 });
  expect(up.received.map((r) => `${r.body.kind} ${r.body.status}`)).toEqual(['stale firing', 'stale resolved', 'job_failed firing']);
  expect(new Set(up.received.map((r) => r.body.alertId)).size).toBe(3);

  const stored = JSON.stringify([await platform.metadata.latestRegistry(), await platform.metadata.health.listAlerts(10), await platform.metadata.health.list()]);
  expect(logs.length).toBeGreaterThan(0);
  for (const text of [stored, ...logs]) expect(text).not.toContain(SECRET);
  expect(stored).toContain('"url":{"kind":"env","name":"ALERT_URL"}');
});

test('5xx and 429 are retried; another 4xx fails for good and is not retried; a channel filters by kind and severity', async () => {
  const hook = await receiver();
  const answers = [503, 429];
  hook.state.answer = (body) => (body.kind === 'skew' ? 400 : answers.shift() ?? 200);
  const { dispatcher, report, platform } = await setup([webhook({ url: env('ALERT_URL'), kinds: ['stale', 'skew'], minSeverity: 'error' })], hook.port);
  await report({ firing: true });
  expect(await dispatcher.dispatch()).toMatchObject({ retrying: 1 });
  await new Promise((r) => setTimeout(r, 5));
  expect(await dispatcher.dispatch()).toMatchObject({ retrying: 1 });
  await new Promise((r) => setTimeout(r, 5));
  expect(await dispatcher.dispatch()).toMatchObject({ delivered: 1 });
  await report({ kind: 'skew', subject: 'feature:stats__n', firing: true, message: 'skew' });
  await report({ kind: 'drift', subject: 'feature:stats__n', firing: true, message: 'drift' });
  await report({ kind: 'stale', subject: 'source:txns', severity: 'warn', firing: true, message: 'warn only' });
  expect(await dispatcher.dispatch()).toMatchObject({ delivered: 0, failed: 1, skipped: 2 });
  await new Promise((r) => setTimeout(r, 5));
  expect(await dispatcher.dispatch()).toMatchObject({ delivered: 0, failed: 0, retrying: 0 });
  expect(hook.received.map((r) => r.body.subject)).toEqual(['view:stats']);
  const alerts = await platform.metadata.health.listAlerts(10);
  expect(alerts.find((a) => a.condition.kind === 'skew')).toMatchObject({ deliveredAt: null, attempts: 1, lastError: expect.stringMatching(/^failed permanently: webhook "webhook" \(env\(ALERT_URL\)\) refused it: HTTP 400$/) });
  expect(alerts.find((a) => a.condition.kind === 'drift')).toMatchObject({ lastError: 'skipped: no alert channel takes drift alerts of severity error' });
  expect(await platform.metadata.health.pendingAlerts(Number.MAX_SAFE_INTEGER - 1, 10)).toEqual([]);
});

test('two dispatchers at once (two processes) deliver each alert once; SLUICE_ALERT_WEBHOOK_URL alone is a channel', async () => {
  const hook = await receiver();
  const { platform, report } = await setup([], hook.port);
  for (let i = 0; i < 5; i++) await report({ subject: `view:v${i}`, firing: true });
  const environment = { SLUICE_ALERT_WEBHOOK_URL: `http://127.0.0.1:${hook.port}/x` };
  const results = await Promise.all([alertDispatcher(platform.metadata, { environment }).dispatch(), alertDispatcher(platform.metadata, { environment }).dispatch()]);
  expect(results.map((r) => r.delivered).sort()).toEqual([0, 5]);
  expect(hook.received.map((r) => r.body.subject)).toEqual(['view:v0', 'view:v1', 'view:v2', 'view:v3', 'view:v4']);
});

test('alert channels are validated with messages that name the fix', () => {
  const compile = (alerts: unknown[]) => compileProject(defineProject({ ...base, alerts: alerts as ReturnType<typeof webhook>[] }));
  expect(compile([webhook({ url: env('A') }), webhook({ url: 'https://hooks.example.com/x', minSeverity: 'error' })]).alerts).toEqual([
    { kind: 'webhook', name: 'webhook', url: { kind: 'env', name: 'A' } },
    { kind: 'webhook', name: 'webhook_2', url: 'https://hooks.example.com/x', minSeverity: 'error' },
  ]);
  expect(compileProject(defineProject(base))).not.toHaveProperty('alerts');
  expect(() => compile([webhook({ url: 'hooks.example.com' })])).toThrow(/alert channel "webhook": url "hooks.example.com" is not an http\(s\) URL/);
  expect(() => compile([webhook({ url: env('A'), minSeverity: 'fatal' as 'error' })])).toThrow(/minSeverity must be "warn" or "error"/);
  expect(() => compile([webhook({ url: env('A'), kinds: [] })])).toThrow(/kinds must be a non-empty list/);
  expect(() => compile([{ kind: 'slack' }])).toThrow(/alerts\[0\] is not a webhook\(\.\.\.\) definition/);
});

test('sluice plan shows alert channels added and changed, with nothing to rematerialize', () => {
  const before = compileProject(defineProject(base));
  const added = compileProject(defineProject({ ...base, alerts: [webhook({ url: env('A') })] }));
  const changed = compileProject(defineProject({ ...base, alerts: [webhook({ url: env('A'), minSeverity: 'error' })] }));
  expect(planChanges(before, added)).toEqual([{ action: 'add', kind: 'alert', name: 'webhook' }]);
  expect(planChanges(added, changed)).toEqual([{ action: 'change', kind: 'alert', name: 'webhook', details: ['alert channel settings changed'], consequences: [] }]);
  expect(planChanges(changed, before)).toEqual([{ action: 'remove', kind: 'alert', name: 'webhook' }]);
});

test('a warning that becomes an error alerts again, as escalated and still firing', async () => {
  const hook = await receiver();
  const { dispatcher, report } = await setup([webhook({ url: env('ALERT_URL') })], hook.port);
  await report({ firing: true, severity: 'warn' });
  await report({ firing: true, severity: 'error' });
  await report({ firing: true, severity: 'warn' });
  await dispatcher.dispatch();
  expect(hook.received.map((r) => [r.body.transition, r.body.status, r.body.severity])).toEqual([['fired', 'firing', 'warn'], ['escalated', 'firing', 'error']]);
});
