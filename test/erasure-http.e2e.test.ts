import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { allow, batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { createApiKey } from '../src/compliance/access/api-keys.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { createServer } from '../src/serving/http/server.js';
import type { AuditRecord } from '../src/storage/metadata/audit-store.js';
import { tempPlatform } from './support/temp-platform.js';

const KEY = 'subject-ZQX-7777';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const spend = featureView({ name: 'spend', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({
  name: 'erase_http', entities: [customer], sources: [txns], featureViews: [spend],
  access: [allow({ role: 'dpo', admin: ['erase'] }), allow({ role: 'analyst', read: [spend] })],
});

let env: Awaited<ReturnType<typeof tempPlatform>>;
let app: FastifyInstance;
const keys: Record<string, string> = {};

beforeAll(async () => {
  env = await tempPlatform(spec, Date.parse('2026-11-28T12:00:00Z'));
  const operator = { name: 'cli:test', roles: ['local-operator'], origin: 'local' };
  for (const role of ['dpo', 'analyst']) keys[role] = (await createApiKey(env.platform.metadata, { principal: `${role}-svc`, roles: [role] }, operator, env.clock.now)).token;
  const file = join(env.dir, 'txns.csv');
  writeFileSync(file, `txn_id,customer_id,amount,ts\nt1,c1,1,2026-11-01T00:00:00Z\nt2,${KEY},2,2026-11-01T00:00:00Z\n`);
  await ingestFile(env.platform, env.project, 'txns', file);
  app = await createServer(env.platform, { keyCacheMs: 0 });
});
afterAll(async () => {
  await app?.close();
  await env?.dispose();
});

const erase = (body: unknown, key?: string) => app.inject({
  method: 'POST', url: '/v1/erase', headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) }, payload: JSON.stringify(body),
});
const records = async (action: string, n: number): Promise<AuditRecord[]> => {
  let found: AuditRecord[] = [];
  for (let i = 0; i < 500 && found.length < n; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    found = (await env.platform.metadata.audit.list()).filter((r) => r.action === action);
  }
  return found;
};

test('POST /v1/erase needs a key (401) with the admin right "erase" (403 otherwise); both refusals are audited', async () => {
  expect((await erase({ entity: 'customer', key: KEY })).statusCode).toBe(401);
  const denied = await erase({ entity: 'customer', key: KEY }, keys.analyst);
  expect(denied.statusCode).toBe(403);
  expect(denied.json().error).toMatchObject({ code: 'POLICY_DENIED' });
  expect(denied.json().error.message).toContain('admin: ["erase"]');
  expect((await records('admin.erase', 1)).map((r) => [r.actor, r.outcome])).toEqual([['key:analyst-svc', 'denied']]);
  expect(await env.platform.metadata.erasure.list()).toEqual([]);
});

test('a malformed body is a 400 and an unknown entity a 404 naming the fix; each leaves a failed erase.requested record', async () => {
  const bad = await erase({ entity: 'customer', key: true }, keys.dpo);
  expect(bad.statusCode).toBe(400);
  expect(bad.json().error.message).toContain('the body must be {"entity": "customer", "key": "c42"');
  const unknown = await erase({ entity: 'custmer', key: KEY }, keys.dpo);
  expect(unknown.statusCode).toBe(404);
  expect(unknown.json().error.message).toContain('entity "custmer" is not in the registry (did you mean "customer"?)');
  expect((await records('erase.requested', 2)).map((r) => [r.actor, r.outcome])).toEqual([['key:dpo-svc', 'failed'], ['key:dpo-svc', 'failed']]);
});

test('the DPO key erases the subject and gets the certificate; GET /v1/erase shows the completed request', async () => {
  const res = await erase({ entity: 'customer', key: KEY, reason: 'ticket 123' }, keys.dpo);
  expect(res.statusCode).toBe(200);
  const certificate = res.json();
  expect(certificate).toMatchObject({ request: 'erase-1', entity: 'customer', requestedBy: 'key:dpo-svc', performedBy: 'key:dpo-svc', withinDeadline: true, sources: ['txns'] });
  expect(certificate.stores.find((s: { store: string }) => s.store === 'lake:txns')).toMatchObject({ rows: 1 });
  expect(res.body).not.toContain(KEY);
  const status = await app.inject({ method: 'GET', url: '/v1/erase', headers: { authorization: `Bearer ${keys.dpo}` } });
  expect(status.json()).toMatchObject({ pending: 0, completed: 1, overdue: 0, requests: [{ id: 'erase-1', status: 'completed' }] });
  expect((await records('erase.completed', 1)).map((r) => [r.actor, r.outcome, r.purpose])).toEqual([['key:dpo-svc', 'succeeded', 'gdpr-art17']]);
});
