import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { allow, batchSource, count, defineProject, deny, entity, featureService, featureView, field, requestView } from '../src/definitions/index.js';
import { authorizeCliRead } from '../src/compliance/access/cli-principal.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { securedServer, type SecuredServer } from './support/secured-server.js';

// A request view computes from every feature of its input views: reading one of its features needs read rights on those inputs.
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const profiles = batchSource({ name: 'profiles', schema: { customer_id: 'string', income: 'float64', age: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const profile = featureView({ name: 'profile', entity: customer, source: profiles, features: { income: field('income'), age: field('age'), n: count() } });
const affordability = requestView({
  name: 'affordability', request: { amount: 'float64' }, inputs: [profile],
  features: { ratio: ({ request, profile: p }) => (p.income === null ? null : request.amount / (p.income as number)) }, types: { ratio: 'float64' },
});
const scoring = featureService({ name: 'scoring', features: [affordability] });
const spec = defineProject({
  name: 'rvacl', entities: [customer], sources: [profiles], featureViews: [profile], requestViews: [affordability], featureServices: [scoring],
  access: [
    // The analyst may read the request view, and the profile except the income it is computed from.
    allow({ role: 'analyst', read: [affordability, profile], datasets: true }), deny({ role: 'analyst', read: ['profile:income'] }),
    // The scorer may read the request view and nothing of the profile.
    allow({ role: 'scorer', read: [scoring] }),
    allow({ role: 'underwriter', read: [affordability, profile] }),
  ],
});

let server: SecuredServer;
let env: SecuredServer['env'];
let app: FastifyInstance;
let spine: string;
let keys: SecuredServer['keys'];
const as = (role: string) => ({ name: `key:${role}-svc`, roles: [role], origin: 'local' });

beforeAll(async () => {
  server = await securedServer(spec, Date.parse('2026-11-28T12:00:00Z'), ['analyst', 'scorer', 'underwriter']);
  ({ env, app, keys } = server);
  const csv = join(env.dir, 'profiles.csv');
  writeFileSync(csv, 'customer_id,income,age,ts\nc1,1000,40,2026-11-01T00:00:00Z\n');
  await ingestFile(env.platform, env.project, 'profiles', csv);
  spine = join(env.dir, 'spine.csv');
  writeFileSync(spine, 'customer_id,ts,amount\nc1,2026-11-20T00:00:00Z,50\n');
});
afterAll(async () => server?.close());

const read = (body: object, key: string) => app.inject({
  method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  payload: JSON.stringify({ entities: { customer_id: ['c1'] }, request: { amount: [50] }, ...body }),
});
const audited = (since: number, action: string) => server.auditedSince(since, 1, (r) => r.action === action && r.outcome === 'denied');
const headSeq = () => server.headSeq();

describe('request views are authorized on the views they read', () => {
  test('HTTP: a deny on an input feature refuses the request view feature (403 naming the input and the fix), audited', async () => {
    const since = await headSeq();
    for (const [role, body] of [['analyst', { features: ['affordability:ratio'] }], ['scorer', { service: 'scoring' }]] as const) {
      const res = await read(body, keys[role]!);
      expect(res.statusCode, role).toBe(403);
      expect(res.json().error.code).toBe('POLICY_DENIED');
      expect(res.json().error.message).toContain('"affordability:ratio" is computed from "profile:income"');
    }
    expect((await read({ features: ['affordability:ratio'] }, keys.analyst!)).json().error.message).toContain('access[1] denies it to role "analyst"');
    expect((await read({ service: 'scoring' }, keys.scorer!)).json().error.message).toContain('add allow({ role: "scorer", read: ["profile:income"] })');
    const denied = await audited(since, 'serve.read');
    expect(denied.map((r) => r.actor)).toContain('key:analyst-svc');
    expect(String(denied[0]!.details?.reason)).toContain('profile:income');
  });

  test('HTTP: a role that may read every input gets past authorization', async () => {
    const res = await read({ features: ['affordability:ratio'] }, keys.underwriter!);
    expect(res.statusCode).not.toBe(403);
    expect(res.statusCode).not.toBe(401);
  });

  test('sluice get (the CLI read) refuses the same closure, audited', async () => {
    const since = await headSeq();
    await expect(authorizeCliRead(env.platform, as('analyst'), env.project, { features: ['affordability:ratio'] }, 1)).rejects.toThrow(/"affordability:ratio" is computed from "profile:income"/);
    expect((await audited(since, 'serve.read')).map((r) => r.actor)).toEqual(['key:analyst-svc']);
    await expect(authorizeCliRead(env.platform, as('underwriter'), env.project, { features: ['affordability:ratio'] }, 1)).resolves.toBeUndefined();
  });

  test('a dataset build of the request view refuses the closure, audited as dataset.build', async () => {
    const since = await headSeq();
    await expect(buildDataset(env.platform, env.project, { spine, features: ['affordability:ratio'], out: join(env.dir, 'a.csv'), principal: as('analyst') }))
      .rejects.toThrow(/"affordability:ratio" is computed from "profile:income"/);
    expect((await audited(since, 'dataset.build')).map((r) => r.actor)).toEqual(['key:analyst-svc']);
  });
});
