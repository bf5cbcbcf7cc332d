import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

const config = `import { defineProject, entity, batchSource, sqlTransform, featureView, field, pii } from 'sluice';
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

let root: string;
let dir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-transform-lineage-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), config);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('apply stores the parsed lineage: a CTE and an unnest carry the email to mail only, the key stays unclassified', () => {
  expect(sluice(dir, 'apply').code).toBe(0);
  const catalog = sluice(dir, 'catalog');
  expect(catalog.code).toBe(0);
  expect(catalog.stdout).toMatch(/transform-column\s+transform:contacts\.mail\s+direct/);
  expect(catalog.stdout).not.toContain('transform:contacts.customer_id');
  expect(catalog.stdout).not.toContain('key:reach.customer_id');
  expect(sluice(dir, 'plan').stdout).toContain('No changes.');
});
