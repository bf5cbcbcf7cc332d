import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { sqliteMetadataStore } from '../src/storage/metadata/sqlite/index.js';

/** A project with classified columns; `residency` is spliced into defineProject. */
const config = (residency: string) => `import { defineProject, entity, batchSource, sqlTransform, featureView, featureService, field, count, last, pii, tags, declassify, allowTransfer } from 'sluice';

const customer = entity({ name: 'customer', joinKey: 'customer_id', classify: pii('direct') });
const customers = batchSource({
  name: 'customers', schema: { customer_id: 'string', email: 'string', zip: 'string', note: 'string', ts: 'timestamp' }, timestamp: 'ts',
  classify: { email: pii('direct', { tags: ['contact'] }), zip: pii('quasi'), note: tags('free-text') },
});
const contacts = sqlTransform({
  name: 'contacts', inputs: [customers], sql: 'SELECT customer_id, lower(email) AS mail, ts FROM customers',
  timestamp: 'ts', schema: { customer_id: 'string', mail: 'string', ts: 'timestamp' },
});
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: {
  zip: last('zip'), note: last('note'), emails: count('email', { classify: declassify('a count identifies no one') }), n: count(),
} });
const reach = featureView({ name: 'reach', entity: customer, source: contacts, features: { mail: field('mail') } });
export default defineProject({
  name: 'crm', entities: [customer], sources: [customers], transforms: [contacts], featureViews: [profile, reach],
  featureServices: [featureService({ name: 'crm', features: [profile, reach], log: { sampleRate: 1 } })],
  ${residency}
});
`;

let root: string;
let dir: string;
const write = (residency: string) => writeFileSync(join(dir, 'sluice.config.ts'), config(residency));
async function auditRecords() {
  const store = sqliteMetadataStore({ path: join(dir, '.sluice', 'metadata.db') });
  try {
    return await store.audit.list();
  } finally {
    await store.close();
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-classify-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'customers.csv'), 'customer_id,email,zip,note,ts\nc1,A@x.io,75001,hello,2024-01-01T00:00:00Z\n');
  writeFileSync(join(dir, 'spine.csv'), 'customer_id,ts\nc1,2024-02-01T00:00:00Z\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('residency at plan and apply, end to end', () => {
  test('an online store outside the sources\' region is refused at plan and apply, naming the path; the refusals are audited', async () => {
    write(`region: 'eu-west-1', onlineStore: { region: 'us-east-1' },`);
    for (const command of ['plan', 'apply']) {
      const r = sluice(dir, command);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`residency: ${command} refused, data would leave its region:`);
      expect(r.stderr).toContain('source customers (eu-west-1) -> view profile -> online store (us-east-1): moves data of source customers from eu-west-1 to us-east-1 with no transfer policy');
      expect(r.stderr).toContain('source customers (eu-west-1) -> transform contacts (eu-west-1) -> view reach -> online store (us-east-1)');
      expect(r.stderr).toContain('allowTransfer({ from: "eu-west-1", to: "us-east-1", purpose: "...", sources: ["customers"] })');
    }
    const records = (await auditRecords()).filter((r) => r.action.startsWith('residency.'));
    expect(records.map((r) => [r.action, r.outcome, (r.details as { during: string }).during])).toEqual([['residency.refused', 'denied', 'plan'], ['residency.refused', 'denied', 'apply']]);
    expect(records[0]!.actor).toMatch(/^cli:/);
  });

  test('a transfer policy lets it through: plan shows it, apply records it in the audit trail with its purpose', async () => {
    write(`region: 'eu-west-1', onlineStore: { region: 'us-east-1' }, transfers: [allowTransfer({ from: 'eu', to: 'us', purpose: 'crm-serving', sources: [customers] })],`);
    const plan = sluice(dir, 'plan');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('transfer allowed by eu->us:crm-serving: source customers (eu-west-1) -> view profile -> online store (us-east-1)');
    const apply = sluice(dir, 'apply', '--json');
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.json<{ transfers: unknown[] }>().transfers).toHaveLength(2);
    const used = (await auditRecords()).filter((r) => r.action === 'residency.transfer');
    expect(used).toHaveLength(2);
    expect(used[0]).toMatchObject({ outcome: 'allowed', purpose: 'crm-serving', target: 'source:customers', details: { during: 'apply', transfer: 'eu->us:crm-serving', from: 'eu-west-1', to: 'us-east-1' } });
  });

  test('a dataset build to another region is refused (and audited); in the sources\' region it builds', async () => {
    expect(sluice(dir, 'ingest', 'customers', '--file', 'customers.csv').code).toBe(0);
    const refused = sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--service', 'crm', '--out', 'out/train.parquet', '--region', 'ap-south-1');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('source customers (eu-west-1) -> view profile -> dataset train.parquet (ap-south-1): moves data');
    expect((await auditRecords()).filter((r) => r.action.startsWith('residency.')).at(-1)).toMatchObject({ action: 'residency.refused', target: 'dataset:train.parquet', outcome: 'denied' });
    const built = sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--service', 'crm', '--out', 'out/train.parquet');
    expect(built.code, built.stderr).toBe(0);
  });
});

describe('sluice catalog, end to end', () => {
  test('lists every place classified data lives, with where it comes from; --pii keeps personal data only', () => {
    const all = sluice(dir, 'catalog', '--json');
    expect(all.code, all.stderr).toBe(0);
    const places = all.json<{ places: { place: string; id: string; level?: string; tags: string[]; derivedFrom: string[]; note?: string; columns?: string[] }[] }>().places;
    const byId = new Map(places.map((p) => [p.id, p]));
    expect(byId.get('source:customers.email')).toMatchObject({ place: 'source-column', level: 'direct', tags: ['contact'] });
    expect(byId.get('transform:contacts.mail')).toMatchObject({ place: 'transform-column', level: 'direct', derivedFrom: ['source:customers.email'] });
    expect(byId.get('feature:reach.mail')).toMatchObject({ level: 'direct', derivedFrom: ['source:customers.email'] });
    expect(byId.get('feature:profile.note')).toMatchObject({ tags: ['free-text'] });
    expect(byId.get('feature:profile.emails')).toMatchObject({ note: 'declassified: a count identifies no one' });
    expect(byId.get('online:profile')).toMatchObject({ place: 'online-table', level: 'direct', note: 'online store (us-east-1)' });
    expect(byId.get('online:profile')?.columns).toEqual(['customer_id', 'zip', 'note']);
    expect(byId.get('service:crm.reach__mail')).toMatchObject({ place: 'service-feature', level: 'direct' });
    expect(byId.get('serving-log:crm')).toMatchObject({ place: 'serving-log', level: 'direct' });
    const built = places.find((p) => p.place === 'built-dataset');
    expect(built).toMatchObject({ level: 'direct' });
    expect(built?.columns).toEqual(expect.arrayContaining(['customer_id', 'profile__zip', 'reach__mail']));
    expect(byId.has('feature:profile.n')).toBe(false);

    const pii = sluice(dir, 'catalog', '--pii', '--json').json<{ places: { id: string; level?: string }[] }>().places;
    expect(pii.every((p) => p.level !== undefined)).toBe(true);
    expect(pii.map((p) => p.id)).not.toContain('feature:profile.note');
    expect(pii.map((p) => p.id)).not.toContain('feature:profile.emails');

    const text = sluice(dir, 'catalog', '--pii');
    expect(text.stdout).toMatch(/^place\s+id\s+level\s+tags\s+derived from\s+note/);
    expect(text.stdout).toMatch(/transform-column\s+transform:contacts\.mail\s+direct\s+contact\s+source:customers\.email/);
  });

  test('dead letters of a classified source are listed; an unknown classified column is refused at plan with a suggestion', () => {
    writeFileSync(join(dir, 'bad.csv'), 'customer_id,email,zip,note,ts\nc2,b@x.io,1,n,not-a-time\n');
    sluice(dir, 'ingest', 'customers', '--file', 'bad.csv');
    const places = sluice(dir, 'catalog', '--json').json<{ places: { id: string; note?: string }[] }>().places;
    expect(places.find((p) => p.id === 'dead-letters:customers')?.note).toBe('1 rejected row(s) kept raw');
    writeFileSync(join(dir, 'sluice.config.ts'), config(`region: 'eu-west-1',`).replace('sources: [customers]', 'sources: [customers, batchSource({ name: "typo", schema: { email: "string", ts: "timestamp" }, timestamp: "ts", classify: { emial: pii("direct") } as never })]'));
    const plan = sluice(dir, 'plan');
    expect(plan.code).not.toBe(0);
    expect(plan.stderr).toContain('source "typo": classify names column "emial", which is not in its schema (did you mean "email"?)');
  });
});

/** A transform whose SQL reaches the email through a CTE over a star and an unnest: the parsed lineage follows both. */
const lineageConfig = `import { defineProject, entity, batchSource, sqlTransform, featureView, field, pii } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({
  name: 'customers', schema: { customer_id: 'string', email: 'string', ts: 'timestamp' }, timestamp: 'ts', classify: { email: pii('direct') },
});
const contacts = sqlTransform({
  name: 'contacts', inputs: [customers], sql: 'WITH c AS (SELECT * FROM customers) SELECT customer_id, x AS mail, ts FROM c, unnest([lower(email)]) t(x)',
  timestamp: 'ts', schema: { customer_id: 'string', mail: 'string', ts: 'timestamp' },
});
const reach = featureView({ name: 'reach', entity: customer, source: contacts, features: { mail: field('mail') } });
export default defineProject({ name: 'crm', entities: [customer], sources: [customers], transforms: [contacts], featureViews: [reach] });
`;

test('apply stores the lineage DuckDB\'s parser gives: the CTE and unnest carry the email to mail only, the key stays unclassified (the token lineage classified it)', () => {
  const project = join(root, 'lineage');
  expect(sluice(root, 'init', 'lineage').code).toBe(0);
  writeFileSync(join(project, 'sluice.config.ts'), lineageConfig);
  expect(sluice(project, 'apply').code).toBe(0);
  const catalog = sluice(project, 'catalog');
  expect(catalog.stdout).toMatch(/transform-column\s+transform:contacts\.mail\s+direct/);
  expect(catalog.stdout).not.toContain('transform:contacts.customer_id');
  expect(catalog.stdout).not.toContain('key:reach.customer_id');
  expect(sluice(project, 'plan').stdout).toContain('No changes.');
});
