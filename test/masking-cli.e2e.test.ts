import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

const config = (operatorRule: string) => `import { defineProject, entity, batchSource, featureView, featureService, field, mask, pii } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', email: 'string', phone: 'string', ts: 'timestamp' }, timestamp: 'ts',
  classify: { email: pii('direct'), phone: pii('direct') } });
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { email: field('email'), phone: field('phone') } });
export default defineProject({ name: 'm', entities: [customer], sources: [customers], featureViews: [profile],
  featureServices: [featureService({ name: 'crm', features: [profile] })],
  masking: [mask({ role: 'support', features: ['profile:phone'], with: 'last4' }), ${operatorRule}] });
`;

let root: string;
let dir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-masking-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), config(`mask({ role: 'local-operator', features: ['profile:phone'], with: 'last4' })`));
  writeFileSync(join(dir, 'customers.csv'), 'customer_id,email,phone,ts\nsubject-4242,ann@example.com,+33612345678,2026-11-01T00:00:00Z\nsubject-7,eve@example.com,+33699999999,not-a-time\n');
  expect(sluice(dir, 'apply').code).toBe(0);
  expect(sluice(dir, 'ingest', 'customers', '--file', 'customers.csv').code).toBe(0);
  expect(sluice(dir, 'materialize').code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('sluice get and sluice dlq mask for the local operator (email hashed by default, phone last4); a grant shows clear', () => {
  const get = sluice(dir, '--json', 'get', '--entity', 'customer_id=subject-4242', '--service', 'crm').json<{ rows: Record<string, string>[]; masked: Record<string, string> }>();
  expect(get.masked).toEqual({ profile__email: 'hash', profile__phone: 'last4' });
  expect(get.rows[0]!.profile__email).toMatch(/^[0-9a-f]{64}$/);
  expect(get.rows[0]!.profile__phone).toBe('****5678');
  const dlq = sluice(dir, 'dlq');
  expect(dlq.code).toBe(0);
  // A rule naming features masks features; the source columns of a dead letter follow their classification (direct: hash).
  expect(dlq.stdout).toContain('[masked: a row of source "customers", whose columns email (hash), phone (hash) are masked for you]');
  expect(dlq.stdout).not.toContain('eve@example.com');

  writeFileSync(join(dir, 'sluice.config.ts'), config(`mask({ role: 'local-operator', pii: 'direct', with: 'clear' })`));
  const plan = sluice(dir, 'plan');
  expect(plan.stdout).toContain('~ masking local-operator: pii direct with clear');
  expect(sluice(dir, 'apply').code).toBe(0);
  const clear = sluice(dir, '--json', 'get', '--entity', 'customer_id=subject-4242', '--service', 'crm').json<{ rows: Record<string, string>[]; masked?: unknown }>();
  expect(clear.rows[0]).toMatchObject({ profile__email: 'ann@example.com', profile__phone: '+33612345678' });
  expect(clear.masked).toBeUndefined();
  expect(sluice(dir, 'dlq').stdout).toContain('eve@example.com');
});
