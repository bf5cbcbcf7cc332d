import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { allow, batchSource, count, defineProject, deny, entity, featureView, field } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { tempPlatform } from './support/temp-platform.js';

// A dataset build reads features: the read rules hold there as online (a deny wins, the default is deny).
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', segment: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { segment: field('segment'), n: count() } });
const spec = defineProject({
  name: 'dsaccess', entities: [customer], sources: [customers], featureViews: [profile],
  access: [allow({ role: 'ds', datasets: true, read: ['profile'] }), deny({ role: 'ds', read: ['profile:segment'] }), allow({ role: 'builder', datasets: true })],
});
let env: Awaited<ReturnType<typeof tempPlatform>>;
let spine: string;
beforeAll(async () => {
  env = await tempPlatform(spec, Date.parse('2026-11-28T12:00:00Z'));
  const csv = join(env.dir, 'customers.csv');
  writeFileSync(csv, 'customer_id,segment,ts\nc1,gold,2026-11-01T00:00:00Z\n');
  await ingestFile(env.platform, env.project, 'customers', csv);
  spine = join(env.dir, 'spine.csv');
  writeFileSync(spine, 'customer_id,ts\nc1,2026-11-20T00:00:00Z\n');
});
afterAll(async () => env?.dispose());
const as = (role: string) => ({ name: `key:${role}`, roles: [role], origin: 'local' });

test('a read deny wins over the datasets right: the denied feature is refused, named, and audited', async () => {
  await expect(buildDataset(env.platform, env.project, { spine, features: ['profile:segment'], out: join(env.dir, 'a.csv'), principal: as('ds') }))
    .rejects.toThrow('key:ds may not read feature "profile:segment": access[1] denies it to role "ds" (a deny wins over any allow)');
  const denied = (await env.platform.metadata.audit.list()).filter((r) => r.action === 'dataset.build' && r.outcome === 'denied');
  expect(denied.map((r) => [r.actor, r.target])).toEqual([['key:ds', 'views:profile']]);
  const built = await buildDataset(env.platform, env.project, { spine, features: ['profile:n'], out: join(env.dir, 'b.csv'), principal: as('ds') });
  expect(built.rowCount).toBe(1);
});

test('the datasets right alone reads nothing: a feature no rule lets the role read is refused with the rule to add', async () => {
  await expect(buildDataset(env.platform, env.project, { spine, features: ['profile:n'], out: join(env.dir, 'c.csv'), principal: as('builder') }))
    .rejects.toThrow('add allow({ role: "builder", read: ["profile:n"] })');
});
