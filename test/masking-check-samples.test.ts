import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { allowedValues, batchSource, defineProject, entity, featureView, field, notNull, pii, sqlTransform } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { tempPlatform } from './support/temp-platform.js';

// Check samples are redacted for every column the classification catalog classifies, not only
// a source's own `classify`: a transform's column computed from a classified column, a feature
// view's features and its classified entity key inherit it through lineage.
const customer = entity({ name: 'customer', joinKey: 'customer_id', classify: pii('direct') });
const customers = batchSource({
  name: 'customers', schema: { customer_id: 'string', email: 'string', plan: 'string', score: 'float64', ts: 'timestamp' }, timestamp: 'ts',
  classify: { email: pii('direct') },
});
const contacts = sqlTransform({
  name: 'contacts', inputs: [customers], sql: 'SELECT customer_id, lower(email) AS contact, plan, ts FROM customers',
  timestamp: 'ts', schema: { customer_id: 'string', contact: 'string', plan: 'string', ts: 'timestamp' },
  checks: [allowedValues('contact', ['none'], { severity: 'warn' }), allowedValues('plan', ['basic'], { severity: 'warn' })],
});
const profile = featureView({
  name: 'profile', entity: customer, source: customers, features: { email: field('email'), plan: field('plan'), score: field('score') },
  checks: [allowedValues('email', ['none'], { severity: 'warn' }), notNull('score', { severity: 'warn' })],
});
const spec = defineProject({ name: 'samples', entities: [customer], sources: [customers], transforms: [contacts], featureViews: [profile] });

const KEY = 'MARKER-KEY-c42';
const EMAIL = 'MARKER-5f3a@example.com';
let env: Awaited<ReturnType<typeof tempPlatform>>;

beforeAll(async () => {
  env = await tempPlatform(spec, Date.parse('2026-11-28T12:00:00Z'));
  const csv = join(env.dir, 'customers.csv');
  writeFileSync(csv, `customer_id,email,plan,score,ts\n${KEY},${EMAIL},gold,,2026-11-01T00:00:00Z\n`);
  await ingestFile(env.platform, env.project, 'customers', csv);
  await runTransform(env.platform, env.project, 'contacts');
  await materialize(env.platform, env.project);
});
afterAll(async () => env?.dispose());

const everything = async () => JSON.stringify([
  await env.platform.metadata.quality.latestResults({}), await env.platform.metadata.health.list(), await env.platform.metadata.health.listAlerts(100), await env.platform.metadata.listRuns(100),
]);

describe('check samples never show a value classified through lineage', () => {
  test('a transform column computed from a classified column: [classified]; an unclassified one as found', async () => {
    const results = await env.platform.metadata.quality.latestResults({ dataset: 'contacts' });
    const contact = results.find((r) => r.check.includes('contact'))!;
    expect(contact).toMatchObject({ passed: false, samples: ['"[classified]"'] });
    expect(results.find((r) => r.check.includes('plan'))!.samples).toEqual(['"gold"']);
  });

  test('a feature view: a classified feature and a whole-row sample with the classified key show [classified]', async () => {
    const results = await env.platform.metadata.quality.latestResults({ dataset: 'profile' });
    expect(results.find((r) => r.check.includes('email'))).toMatchObject({ passed: false, samples: ['"[classified]"'] });
    const row = JSON.parse(results.find((r) => r.check.includes('score'))!.samples[0]!) as Record<string, unknown>;
    expect(row).toMatchObject({ customer_id: '[classified]', email: '[classified]', plan: 'gold', score: null });
  });

  test('results, health conditions, alerts and runs hold neither marker', async () => {
    const text = await everything();
    expect(text).toContain('[classified]');
    for (const marker of [KEY, EMAIL, EMAIL.toLowerCase()]) expect(text).not.toContain(marker);
  });
});
