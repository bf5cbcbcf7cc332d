import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { allow, batchSource, count, defineProject, entity, featureService, featureView, field, pii } from '../src/definitions/index.js';
import { createApiKey } from '../src/compliance/access/api-keys.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';
import { until } from './support/webhook-receiver.js';

// Serving a classified value without its audit record breaks the audit promise: while the audit
// trail cannot be written, a server refuses classified reads (503), fires `audit_failing` and
// shows it in /metrics; other reads go on. Before, it served them with one log line.

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const people = batchSource({ name: 'people', schema: { customer_id: 'string', email: 'string', ts: 'timestamp' }, timestamp: 'ts', classify: { email: pii('direct') } });
const profile = featureView({ name: 'profile', entity: customer, source: people, features: { email: field('email'), n: count() } });
const crm = featureService({ name: 'crm', features: [profile] });
const counts = featureService({ name: 'counts', features: ['profile:n'] });
const spec = defineProject({
  name: 'audited', entities: [customer], sources: [people], featureViews: [profile], featureServices: [crm, counts],
  access: [allow({ role: 'reader', read: [crm, counts] })],
});

let env: Awaited<ReturnType<typeof tempPlatform>>;
let app: FastifyInstance;
let token: string;
const metrics = new SluiceMetrics();
beforeAll(async () => {
  env = await tempPlatform(spec, Date.parse('2026-11-28T12:00:00Z'));
  const csv = join(env.dir, 'people.csv');
  writeFileSync(csv, 'customer_id,email,ts\nc1,ann@example.com,2026-11-01T00:00:00Z\n');
  await ingestFile(env.platform, env.project, 'people', csv);
  await materialize(env.platform, env.project);
  token = (await createApiKey(env.platform.metadata, { principal: 'reader-svc', roles: ['reader'] }, { name: 'cli:test', roles: ['local-operator'], origin: 'local' }, env.clock.now)).token;
  app = await createServer(env.platform, { keyCacheMs: 0, serverName: 'web-1', metrics });
});
afterAll(async () => {
  await app?.close();
  await env?.dispose();
});

const read = (service: string) => app.inject({ method: 'POST', url: '/v1/features/online', headers: { authorization: `Bearer ${token}` }, payload: { service, entities: { customer_id: ['c1'] } } });
const auditFailing = async () => (await env.platform.metadata.health.list({ firing: true })).filter((c) => c.kind === 'audit_failing');

test('while audit writes fail, classified reads are refused with 503 and audit_failing fires (status, metrics); once they succeed again, reads are served and the queued records are committed', async () => {
  expect((await read('crm')).statusCode).toBe(200);
  const audit = env.platform.metadata.audit;
  // That read's record is committed before the failure starts (on a loaded machine its commit could meet the failure, and the next read then be refused).
  await until(async () => (await audit.list()).some((r) => r.action === 'classified.read'), 'the first read to be recorded');
  const appendMany = audit.appendMany.bind(audit);
  audit.appendMany = () => Promise.reject(new Error('disk full'));
  try {
    // The read that meets the failure is queued (the buffer retries it); the failed commit makes the state seen.
    expect((await read('crm')).statusCode).toBe(200);
    await until(async () => (await auditFailing()).length === 1, 'audit_failing to fire');
    const [condition] = await auditFailing();
    expect(condition).toMatchObject({ subject: 'audit:web-1', severity: 'error' });
    expect(condition!.message).toContain('disk full');
    const refused = await read('crm');
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.message).toContain('the audit trail cannot be written');
    // A read of nothing classified needs no audit record of its values.
    expect((await read('counts')).statusCode).toBe(200);
    expect(await metrics.render()).toMatch(/^sluice_audit_failing 1$/m);
  } finally {
    audit.appendMany = appendMany;
  }
  await until(async () => (await auditFailing()).length === 0, 'audit_failing to end');
  expect((await read('crm')).statusCode).toBe(200);
  await until(async () => (await env.platform.metadata.audit.list()).filter((r) => r.action === 'classified.read').length >= 2, 'the queued reads to be committed');
  expect(await metrics.render()).toMatch(/^sluice_audit_failing 0$/m);
});

// When metadata.db itself fails, the audit trail and the health condition that reports it fail
// together: the condition is re-tried on every failing tick until recorded (the episode reaches the
// health history even when the database only comes back at the end), the 503 says what is true,
// and records a server cannot write by the time it closes are counted and told on stderr.

/** Makes metadata.db fail for the audit trail and the health store alike (a lock held past busy_timeout, a full disk) until the returned function is called. */
function metadataDown(): () => void {
  const { audit, health } = env.platform.metadata;
  const appendMany = audit.appendMany.bind(audit);
  const report = health.report.bind(health);
  audit.appendMany = () => Promise.reject(new Error('database is locked'));
  health.report = () => Promise.reject(new Error('database is locked'));
  return () => {
    audit.appendMany = appendMany;
    health.report = report;
  };
}

test('audit_failing reaches the health history when metadata.db was the failing part, and the 503 does not point to a condition that is not recorded', async () => {
  const metrics = new SluiceMetrics();
  const app = await createServer(env.platform, { keyCacheMs: 0, serverName: 'web-2', metrics });
  const read = () => app.inject({ method: 'POST', url: '/v1/features/online', headers: { authorization: `Bearer ${token}` }, payload: { service: 'crm', entities: { customer_id: ['c1'] } } });
  try {
    const up = metadataDown();
    try {
      expect((await read()).statusCode).toBe(200);
      await until(async () => /^sluice_audit_failing 1$/m.test(await metrics.render()), 'the audit to fail');
      const refused = await read();
      expect(refused.statusCode).toBe(503);
      const message = refused.json<{ error: { message: string } }>().error.message;
      expect(message).not.toContain('see the condition');
      expect(message).toMatch(/could not be recorded.*database is locked.*sluice_audit_failing/);
      // Several failing ticks pass with the health store down.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      up();
    }
    const transitions = async () => (await env.platform.metadata.health.listAlerts(100)).filter((a) => a.condition.subject === 'audit:web-2').map((a) => a.transition);
    await until(async () => (await transitions()).length >= 2, 'the episode to be recorded, then ended');
    expect((await transitions()).reverse()).toEqual(['fired', 'resolved']);
    expect((await read()).statusCode).toBe(200);
  } finally {
    await app.close();
  }
});

test('a failing tick after the health store is back records the condition while the audit still fails', async () => {
  const app = await createServer(env.platform, { keyCacheMs: 0, serverName: 'web-3' });
  const read = () => app.inject({ method: 'POST', url: '/v1/features/online', headers: { authorization: `Bearer ${token}` }, payload: { service: 'crm', entities: { customer_id: ['c1'] } } });
  const { audit, health } = env.platform.metadata;
  const appendMany = audit.appendMany.bind(audit);
  const report = health.report.bind(health);
  audit.appendMany = () => Promise.reject(new Error('disk full'));
  health.report = () => Promise.reject(new Error('disk full'));
  try {
    expect((await read()).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    health.report = report;
    await until(async () => (await health.list({ firing: true })).some((c) => c.kind === 'audit_failing' && c.subject === 'audit:web-3'), 'audit_failing to be recorded while the audit fails');
    const refused = await read();
    expect(refused.json<{ error: { message: string } }>().error.message).toContain('see the condition audit_failing of audit:web-3 in "sluice status"');
  } finally {
    audit.appendMany = appendMany;
    health.report = report;
    await app.close();
  }
});

test('records a server cannot write by its close are counted and told on stderr, never dropped silently', async () => {
  const metrics = new SluiceMetrics();
  const app = await createServer(env.platform, { keyCacheMs: 0, serverName: 'web-4', metrics });
  const { audit } = env.platform.metadata;
  const appendMany = audit.appendMany.bind(audit);
  audit.appendMany = () => Promise.reject(new Error('disk full'));
  const stderr = vi.spyOn(process.stderr, 'write');
  try {
    const served = await app.inject({ method: 'POST', url: '/v1/features/online', headers: { authorization: `Bearer ${token}` }, payload: { service: 'crm', entities: { customer_id: ['c1'] } } });
    expect(served.statusCode).toBe(200);
    await app.close();
    const told = stderr.mock.calls.map(([chunk]) => String(chunk)).join('');
    expect(told).toMatch(/server "web-4" closed with 2 audit records it could not write \(disk full\)/);
    expect(await metrics.render()).toMatch(/^sluice_audit_dropped_records 2$/m);
  } finally {
    stderr.mockRestore();
    audit.appendMany = appendMany;
  }
});
