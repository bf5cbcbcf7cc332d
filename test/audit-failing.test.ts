import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, test } from 'vitest';
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
