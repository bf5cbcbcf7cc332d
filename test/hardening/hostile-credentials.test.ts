import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { allow, count, defineProject, entity, featureService, featureView, streamSource } from '../../src/definitions/index.js';
import { securedServer, type SecuredServer } from '../support/secured-server.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id' });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count() } });
const spec = defineProject({
  name: 'creds', entities: [customer], sources: [payments], featureViews: [stats], featureServices: [featureService({ name: 'scoring', features: [stats] })],
  access: [allow({ role: 'model', read: ['scoring'] }), allow({ role: 'ingest', push: [payments] }), allow({ role: 'ops', admin: ['status'] })],
});

let server: SecuredServer;
let env: SecuredServer['env'];
let app: FastifyInstance;
let ingestKey: string;
let modelKey: string;
beforeAll(async () => {
  server = await securedServer(spec, Date.parse('2026-11-28T12:00:00Z'), ['ingest', 'model'], { stream: true });
  ({ env, app } = server);
  ({ ingest: ingestKey, model: modelKey } = server.keys as { ingest: string; model: string });
});
afterAll(async () => server?.close());

const body = JSON.stringify({ events: [{ payment_id: 'p1', customer_id: 'c1', amount: 1, ts: '2026-11-28T11:59:00Z' }] });
const push = (authorization?: string, url = '/v1/push/payments') => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) }, payload: body });
const logged = async () => (await env.platform.log()).read('payments', 0, 1_000).reduce((n, e) => n + e.events.length + e.rejected.length, 0);
const auditText = async () => JSON.stringify(await env.platform.metadata.audit.list());
const until = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 500 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

test('hostile credentials on a push with a valid body: each a 401 naming the fix, audited, nothing appended, no key material echoed or stored', async () => {
  // sk_<id>_<secret>: the secret is everything after the id (it may itself hold underscores).
  const secret = ingestKey.slice(ingestKey.indexOf('_', 'sk_'.length) + 1);
  expect(secret.length).toBeGreaterThan(16);
  const hostile = [
    undefined,
    '',
    'Bearer ',
    `Basic ${Buffer.from('ingest-svc:pw').toString('base64')}`,
    `Token ${ingestKey}`,
    `Bearer ${ingestKey.slice(0, -1)}`,
    `Bearer ${ingestKey}x`,
    `Bearer ${ingestKey.replace(/_([^_]+)_/, '_000000000000_')}`,
    "Bearer sk_'; DROP TABLE api_keys; --_xxxxxxxx",
    `Bearer ${'A'.repeat(16_000)}`,
    `Bearer ${ingestKey} ${ingestKey}`,
  ];
  const audited = (await env.platform.metadata.audit.head())?.seq ?? 0;
  for (const authorization of hostile) {
    const res = await push(authorization);
    expect({ authorization: authorization?.slice(0, 40), status: res.statusCode }).toEqual({ authorization: authorization?.slice(0, 40), status: 401 });
    expect(res.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.stringMatching(/API key/) } });
    expect(res.body).not.toContain(secret);
  }
  // A key in the query string is not a credential.
  expect((await push(undefined, `/v1/push/payments?api_key=${ingestKey}`)).statusCode).toBe(401);
  // A valid key of another role is a 403, also audited.
  expect((await push(`Bearer ${modelKey}`)).statusCode).toBe(403);
  await until(async () => ((await env.platform.metadata.audit.head())?.seq ?? 0) >= audited + hostile.length + 2);
  const records = (await env.platform.metadata.audit.list({ fromSeq: audited + 1 }));
  expect(records.filter((r) => r.action === 'auth.denied' && r.outcome === 'denied')).toHaveLength(hostile.length + 1);
  expect(records.filter((r) => r.action === 'push.write' && r.outcome === 'denied')).toHaveLength(1);
  expect(await logged()).toBe(0);
  expect(await auditText()).not.toContain(secret);
  expect(await auditText()).not.toContain('A'.repeat(100));
  // The server kept serving: the right key pushes, once.
  const ok = await push(`Bearer ${ingestKey}`);
  expect(ok.statusCode).toBe(200);
  expect(ok.json()).toMatchObject({ accepted: 1 });
  expect(await logged()).toBe(1);
});

test('a body that is not UTF-8 gets its 400 with a valid key; without a key, the 401 comes first', async () => {
  const res = await app.inject({ method: 'POST', url: '/v1/push/payments', headers: { 'content-type': 'application/json', authorization: `Bearer ${ingestKey}` }, payload: Buffer.from([0x7b, 0xff, 0x7d]) });
  expect(res.statusCode).toBe(400);
  expect(res.json().error.message).toMatch(/not valid UTF-8/);
  const unauthenticated = await app.inject({ method: 'POST', url: '/v1/push/payments', headers: { 'content-type': 'application/json' }, payload: Buffer.from([0x7b, 0xff, 0x7d]) });
  expect(unauthenticated.statusCode).toBe(401);
});
