import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { allow, batchSource, count, deny, defineProject, entity, featureService, featureView, field, streamSource, compileProject } from '../src/definitions/index.js';
import { createApiKey, revokeApiKey } from '../src/compliance/access/api-keys.js';
import { createServer } from '../src/serving/http/server.js';
import { securedServer, type SecuredServer } from './support/secured-server.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const profiles = batchSource({ name: 'profiles', schema: { customer_id: 'string', email: 'string', age: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id' });
const profile = featureView({ name: 'profile', entity: customer, source: profiles, features: { email: field('email'), age: field('age') } });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n_1h: count({ window: '1h' }) } });
const fraudV1 = featureService({ name: 'fraud_v1', features: [stats, 'profile:age'] });
const everything = featureService({ name: 'everything', features: [stats, profile] });
const spec = defineProject({
  name: 'acl', entities: [customer], sources: [profiles, payments], featureViews: [profile, stats], featureServices: [fraudV1, everything],
  access: [
    allow({ role: 'fraud-model', read: [fraudV1] }),
    allow({ role: 'analyst', read: [profile, stats] }), deny({ role: 'analyst', read: ['profile:email'] }),
    allow({ role: 'ingest', push: [payments] }),
    allow({ role: 'ops', admin: ['status'] }),
  ],
});

let server: SecuredServer;
let env: SecuredServer['env'];
let app: FastifyInstance;
let keys: SecuredServer['keys'];
const operator = { name: 'cli:test', roles: ['local-operator'], origin: 'local' };

beforeAll(async () => {
  server = await securedServer(spec, Date.parse('2026-11-28T12:00:00Z'), ['fraud-model', 'analyst', 'ingest', 'ops'], { stream: true });
  ({ env, app, keys } = server);
});
afterAll(async () => server?.close());

const bearer = (key?: string) => (key === undefined ? {} : { authorization: `Bearer ${key}` });
const read = (body: object, key?: string) => app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json', ...bearer(key) }, payload: JSON.stringify({ entities: { customer_id: ['subject-4242'] }, ...body }) });
// The server commits audit records in ticks: wait for the `n` records a test expects (of `actions`), in chain order.
const audited = (since: number, n: number, actions: readonly string[]) => server.auditedSince(since, n, (r) => actions.includes(r.action));
const headSeq = () => server.headSeq();

describe('authentication and authorization on the HTTP API', () => {
  test('/health stays open; every other route needs a key (401 with WWW-Authenticate), audited as auth.denied', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const since = await headSeq();
    for (const [method, url] of [['POST', '/v1/features/online'], ['GET', '/v1/registry'], ['GET', '/metrics'], ['GET', '/v1/streams'], ['POST', '/v1/push/payments'], ['GET', '/nope']] as const) {
      const res = await app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: method === 'POST' ? '{}' : undefined });
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="sluice"');
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
      expect(res.json().error.message).toMatch(/requires an API key: send the header "Authorization: Bearer sk_\.\.\."/);
    }
    const records = await audited(since, 6, ['auth.denied']);
    expect(records.map((r) => [r.actor, r.action, r.outcome, r.target])).toContainEqual(['anonymous', 'auth.denied', 'denied', 'route:GET /v1/registry']);
    expect(records.filter((r) => r.action === 'auth.denied')).toHaveLength(6);
    expect(records[0]).toMatchObject({ origin: 'ip:127.0.0.1', details: { reason: 'missing' } });
  });

  test('a forged, malformed or revoked key is a 401; revocation applies to the running server', async () => {
    const since = await headSeq();
    const forged = keys['fraud-model']!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    for (const key of [forged, 'sk_000000000000_' + 'x'.repeat(43), 'not-a-key']) {
      const res = await read({ service: 'fraud_v1' }, key);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.message).not.toContain(key);
    }
    const revoked = await createApiKey(env.platform.metadata, { principal: 'temp', roles: ['fraud-model'] }, operator, env.clock.now);
    expect((await read({ service: 'fraud_v1' }, revoked.token)).statusCode).toBe(200);
    await revokeApiKey(env.platform.metadata, revoked.key.id, operator, env.clock.now);
    expect((await read({ service: 'fraud_v1' }, revoked.token)).statusCode).toBe(401);
    const reasons = (await audited(since, 4, ['auth.denied'])).map((r) => r.details?.reason);
    expect(reasons).toEqual(['forged', 'unknown', 'malformed', 'revoked']);
  });

  test('a feature or service that does not exist answers 404 as it does without access control, never a 403 advising a right on it; its did-you-mean names only what the caller may read; audited', async () => {
    const since = await headSeq();
    const missing = await read({ features: ['stats:n_1h', 'profile:emial'] }, keys.analyst);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toEqual({ code: 'UNKNOWN_FEATURE', message: 'feature "profile:emial": view "profile" has no feature "emial"' });
    const view = await read({ features: ['profil:age'] }, keys['fraud-model']);
    expect(view.statusCode).toBe(404);
    expect(view.json().error).toEqual({ code: 'UNKNOWN_FEATURE', message: 'feature "profil:age": view "profil" is not in the registry (did you mean "profile"?)' });
    const stat = await read({ features: ['stat:n_1h'] }, keys['fraud-model']);
    expect(stat.json().error).toMatchObject({ code: 'UNKNOWN_FEATURE', message: 'feature "stat:n_1h": view "stat" is not in the registry (did you mean "stats"?)' });
    // The fraud model reads no feature of the view "profile" but age: its email is no suggestion, nor a service it may not read.
    const feature = await read({ features: ['profile:emai'] }, keys['fraud-model']);
    expect(feature.json().error).toEqual({ code: 'UNKNOWN_FEATURE', message: 'feature "profile:emai": view "profile" has no feature "emai"' });
    const service = await read({ service: 'everythin' }, keys['fraud-model']);
    expect(service.statusCode).toBe(404);
    expect(service.json().error).toEqual({ code: 'UNKNOWN_SERVICE', message: 'feature service "everythin" is not in the registry' });
    expect((await read({ service: 'fraud_v' }, keys['fraud-model'])).json().error.message).toBe('feature service "fraud_v" is not in the registry (did you mean "fraud_v1"?)');
    const records = await audited(since, 6, ['serve.read']);
    expect(records.map((r) => [r.target, r.outcome, r.details?.reason])).toContainEqual(['views:stats,profile', 'denied', 'feature "profile:emial": view "profile" has no feature "emial"']);
  });

  test('a valid key without the right is a 403 naming the first refused feature; deny beats allow; both audited', async () => {
    const since = await headSeq();
    const ok = await read({ service: 'fraud_v1' }, keys['fraud-model']);
    expect(ok.statusCode).toBe(200);
    // The scheme is case-insensitive.
    const lower = await app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json', authorization: `bearer ${keys['fraud-model']}` }, payload: JSON.stringify({ entities: { customer_id: ['subject-4242'] }, service: 'fraud_v1' }) });
    expect(lower.statusCode).toBe(200);
    const other = await read({ service: 'everything' }, keys['fraud-model']);
    expect(other.statusCode).toBe(403);
    expect(other.json().error).toEqual({ code: 'POLICY_DENIED', message: expect.stringMatching(/^key:fraud-model-svc may not read feature "profile:email": no access rule allows it to role "fraud-model"; to grant it, add allow\(\{ role: "fraud-model", read: \["profile:email"\] \}\)/) });
    expect((await read({ features: ['profile:age', 'stats:n_1h'] }, keys.analyst)).statusCode).toBe(200);
    const denied = await read({ features: ['profile:age', 'profile:email'] }, keys.analyst);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.message).toMatch(/may not read feature "profile:email": access\[2\] denies it to role "analyst" \(a deny wins over any allow\)/);
    expect((await read({ service: 'everything' }, keys.analyst)).statusCode).toBe(403);
    const records = await audited(since, 6, ['serve.read']);
    expect(records.map((r) => [r.actor, r.target, r.outcome])).toEqual([
      ['key:fraud-model-svc', 'service:fraud_v1', 'allowed'], ['key:fraud-model-svc', 'service:fraud_v1', 'allowed'], ['key:fraud-model-svc', 'service:everything', 'denied'],
      ['key:analyst-svc', 'views:profile,stats', 'allowed'], ['key:analyst-svc', 'views:profile', 'denied'], ['key:analyst-svc', 'service:everything', 'denied'],
    ]);
    expect(records[0]!.details).toEqual({ entities: 1 });
    // No entity key in the trail.
    expect(JSON.stringify(records)).not.toContain('subject-4242');
  });

  test('push, registry, streams and metrics need their own rights', async () => {
    const since = await headSeq();
    const push = (key: string | undefined) => app.inject({ method: 'POST', url: '/v1/push/payments', headers: { 'content-type': 'application/json', ...bearer(key) }, payload: JSON.stringify({ events: [{ payment_id: 'p1', customer_id: 'c1', amount: 5, ts: '2026-11-28T11:59:00Z' }] }) });
    expect((await push(keys.ingest)).json()).toMatchObject({ accepted: 1 });
    const refused = await push(keys['fraud-model']);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toMatch(/may not push to source "payments"/);
    for (const url of ['/v1/registry', '/metrics', '/v1/streams']) {
      expect((await app.inject({ method: 'GET', url, headers: bearer(keys.ops) })).statusCode, url).toBe(200);
      expect((await app.inject({ method: 'GET', url, headers: bearer(keys.ingest) })).statusCode, url).toBe(403);
    }
    const records = (await audited(since, 8, ['push.write', 'admin.status'])).map((r) => [r.actor, r.action, r.target, r.outcome]);
    expect(records).toContainEqual(['key:ingest-svc', 'push.write', 'source:payments', 'allowed']);
    expect(records).toContainEqual(['key:fraud-model-svc', 'push.write', 'source:payments', 'denied']);
    expect(records).toContainEqual(['key:ops-svc', 'admin.status', 'route:/metrics', 'allowed']);
    expect(records).toContainEqual(['key:ingest-svc', 'admin.status', 'route:/v1/registry', 'denied']);
  });
});

describe('a server with no keys and no rules', () => {
  test('runs open (anonymous, no audit); with requireAuth it refuses every request but /health', async () => {
    const open = await tempPlatform(defineProject({ name: 'open', entities: [customer], sources: [profiles], featureViews: [profile] }));
    try {
      const server = await createServer(open.platform);
      const res = await server.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ entities: { customer_id: ['c1'] }, features: ['profile:age'] }) });
      expect(res.statusCode).toBe(200);
      await server.close();
      expect(await open.platform.metadata.audit.head()).toBeUndefined();
      const closed = await createServer(open.platform, { requireAuth: true });
      expect((await closed.inject({ method: 'GET', url: '/v1/registry' })).statusCode).toBe(401);
      expect((await closed.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      await closed.close();
    } finally {
      await open.dispose();
    }
  });
});

export { compileProject };
