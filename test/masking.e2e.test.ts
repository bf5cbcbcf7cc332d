import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { allow, allowedValues, batchSource, count, defineProject, entity, featureService, featureView, field, mask, pii } from '../src/definitions/index.js';
import { createApiKey } from '../src/compliance/access/api-keys.js';
import { keyedHash, projectSecret } from '../src/compliance/project-secret.js';
import { maskDeadLetters, redactReason } from '../src/compliance/masking/mask-dead-letters.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { createServer } from '../src/serving/http/server.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import type { AuditRecord } from '../src/storage/metadata/audit-store.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({
  name: 'customers',
  schema: { customer_id: 'string', email: 'string', phone: 'string', birth: 'timestamp', diagnosis: 'string', visits: 'int64', ts: 'timestamp' },
  timestamp: 'ts',
  checks: [allowedValues('diagnosis', ['none'], { severity: 'warn' }), allowedValues('visits', [0], { severity: 'warn' })],
  classify: { email: pii('direct', { tags: ['contact'] }), phone: pii('direct', { tags: ['contact'] }), birth: pii('quasi'), diagnosis: pii('sensitive') },
});
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { email: field('email'), phone: field('phone'), birth: field('birth'), diagnosis: field('diagnosis'), visits: field('visits'), n: count() } });
const crm = featureService({ name: 'crm', features: [profile] });
const spec = defineProject({
  name: 'masked', entities: [customer], sources: [customers], featureViews: [profile], featureServices: [crm],
  access: ['analyst', 'support', 'fraud-model', 'nobody'].map((role) => allow({ role, read: [crm], datasets: true })),
  masking: [
    mask({ role: 'analyst', pii: ['direct', 'sensitive'], with: 'hash' }),
    mask({ role: 'support', features: ['profile:phone'], with: 'last4' }),
    mask({ role: 'support', pii: 'quasi', with: 'year' }),
    mask({ role: 'fraud-model', pii: 'direct', with: 'clear' }),
    mask({ role: '*', pii: 'sensitive', with: 'null' }),
  ],
});

const ANN = { email: 'ann@example.com', phone: '+33612345678', diagnosis: 'asthma' };
let env: Awaited<ReturnType<typeof tempPlatform>>;
let app: FastifyInstance;
let secret: Buffer;
const keys: Record<string, string> = {};
const operator = { name: 'cli:test', roles: ['local-operator'], origin: 'local' };
const principal = (role: string) => ({ name: `key:${role}-svc`, roles: [role], origin: 'local' });

beforeAll(async () => {
  env = await tempPlatform(spec, Date.parse('2026-11-28T12:00:00Z'));
  const csv = join(env.dir, 'customers.csv');
  writeFileSync(csv, [
    'customer_id,email,phone,birth,diagnosis,visits,ts',
    `subject-4242,${ANN.email},${ANN.phone},1990-05-17T10:00:00Z,${ANN.diagnosis},3,2026-11-01T00:00:00Z`,
    'c2,bob@example.com,0612,1985-01-02T00:00:00Z,,1,2026-11-02T00:00:00Z',
    // Rejected: a birth that is not a timestamp, a visits that is not an int64 (its value quoted in the reason).
    'c3,eve@example.com,+33699999999,not-a-date,flu,1.5,2026-11-03T00:00:00Z',
  ].join('\n'));
  await ingestFile(env.platform, env.project, 'customers', csv);
  await materialize(env.platform, env.project);
  for (const role of ['analyst', 'support', 'fraud-model', 'nobody']) keys[role] = (await createApiKey(env.platform.metadata, { principal: `${role}-svc`, roles: [role] }, operator, env.clock.now)).token;
  app = await createServer(env.platform, { keyCacheMs: 0 });
  secret = projectSecret(env.platform.dataDir);
});
afterAll(async () => {
  await app?.close();
  await env?.dispose();
});

const hash = (value: string) => keyedHash(secret, 'mask', value);
const serve = async (role: string) => {
  const response = await app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[role]}` }, payload: JSON.stringify({ entities: { customer_id: ['subject-4242'] }, service: 'crm' }) });
  expect(response.statusCode).toBe(200);
  return response.json<{ rows: Record<string, unknown>[]; masked?: Record<string, string> }>();
};
const classifiedReads = async (path: string, n = 1): Promise<AuditRecord[]> => {
  let records: AuditRecord[] = [];
  for (let i = 0; i < 500 && records.length < n; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    records = (await env.platform.metadata.audit.list()).filter((r) => r.action === 'classified.read' && r.details?.path === path);
  }
  return records;
};

describe('online answers (HTTP) are masked per role', () => {
  test('analyst: direct and sensitive hashed, but the "*" floor nulls sensitive; quasi clear', async () => {
    const answer = await serve('analyst');
    expect(answer.rows[0]).toEqual({ customer_id: 'subject-4242', profile__email: hash(ANN.email), profile__phone: hash(ANN.phone), profile__birth: '1990-05-17T10:00:00.000Z', profile__diagnosis: null, profile__visits: 3, profile__n: 1 });
    expect(answer.masked).toEqual({ profile__email: 'hash', profile__phone: 'hash', profile__diagnosis: 'null' });
  });

  test('support: the named phone as last4, the quasi birth to its year, email hashed by default', async () => {
    const answer = await serve('support');
    expect(answer.rows[0]).toMatchObject({ profile__email: hash(ANN.email), profile__phone: '****5678', profile__birth: '1990-01-01T00:00:00.000Z', profile__diagnosis: null });
  });

  test('fraud-model: direct identifiers in clear (granted), sensitive still null (the floor)', async () => {
    const answer = await serve('fraud-model');
    expect(answer.rows[0]).toMatchObject({ profile__email: ANN.email, profile__phone: ANN.phone, profile__diagnosis: null });
    expect(answer.masked).toEqual({ profile__diagnosis: 'null' });
  });

  test('every classified read is audited with each column\'s method, and no raw value or key', async () => {
    await serve('nobody');
    const records = await classifiedReads('http', 4);
    const nobody = records.find((r) => r.actor === 'key:nobody-svc')!;
    expect(nobody).toMatchObject({ outcome: 'allowed', target: 'service:crm', purpose: 'serving' });
    expect(nobody.details).toMatchObject({ rows: 1, roles: ['nobody'], columns: { profile__email: 'hash', profile__phone: 'hash', profile__birth: 'clear', profile__diagnosis: 'null' } });
    const text = JSON.stringify(records);
    for (const value of [ANN.email, ANN.phone, ANN.diagnosis, 'subject-4242']) expect(text).not.toContain(value);
  });

  test('the columnar answer (?format=columnar) is masked and audited like the default one', async () => {
    for (const role of ['analyst', 'support', 'fraud-model']) {
      const reads = async () => (await env.platform.metadata.audit.list()).filter((r) => r.action === 'classified.read' && r.actor === `key:${role}-svc`).length;
      const before = await reads();
      const rows = await serve(role);
      const response = await app.inject({ method: 'POST', url: '/v1/features/online?format=columnar', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[role]}` }, payload: JSON.stringify({ entities: { customer_id: ['subject-4242'] }, service: 'crm' }) });
      expect(response.statusCode).toBe(200);
      const columnar = response.json<{ metadata: { feature_names: string[] }; results: { values: unknown[] }[]; masked?: Record<string, string> }>();
      expect(Object.fromEntries(columnar.metadata.feature_names.map((name, f) => [name, columnar.results[f]!.values[0]]))).toEqual(Object.fromEntries(Object.entries(rows.rows[0]!).filter(([name]) => name !== 'customer_id')));
      expect(columnar.masked).toEqual(rows.masked);
      expect(response.body).not.toContain(ANN.diagnosis);
      // One classified read audited per answer: the default one and the columnar one.
      let after = 0;
      for (let i = 0; i < 500 && after < before + 2; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
        after = await reads();
      }
      expect(after).toBe(before + 2);
    }
  });
});

describe('dataset builds are masked as SQL, with the same hash as serving', () => {
  test('analyst gets hashed columns equal to the served hash; fraud-model gets clear; different dataset ids; audited', async () => {
    const spine = join(env.dir, 'spine.csv');
    writeFileSync(spine, 'customer_id,ts,label\nsubject-4242,2026-11-20T00:00:00Z,1\nc2,2026-11-20T00:00:00Z,0\n');
    const build = (role: string, out: string) => buildDataset(env.platform, env.project, { spine, service: 'crm', out: join(env.dir, out), principal: principal(role) });
    const masked = await build('analyst', 'analyst.parquet');
    const clear = await build('fraud-model', 'model.parquet');
    expect(masked.masked).toEqual({ profile__email: 'hash', profile__phone: 'hash', profile__diagnosis: 'null' });
    expect(clear.masked).toEqual({ profile__diagnosis: 'null' });
    expect(masked.datasetId).not.toBe(clear.datasetId);
    const engine = await env.platform.engine();
    const rows = await engine.all<Record<string, unknown>>(`SELECT customer_id, profile__email, profile__phone, profile__diagnosis, label FROM '${join(env.dir, 'analyst.parquet')}' WHERE customer_id = 'subject-4242'`);
    expect(rows[0]).toEqual({ customer_id: 'subject-4242', profile__email: hash(ANN.email), profile__phone: hash(ANN.phone), profile__diagnosis: null, label: '1' });
    const [model] = await engine.all<Record<string, unknown>>(`SELECT profile__email FROM '${join(env.dir, 'model.parquet')}' WHERE customer_id = 'subject-4242'`);
    expect(model!.profile__email).toBe(ANN.email);
    const records = await classifiedReads('dataset', 2);
    expect(records.map((r) => r.target)).toEqual([`dataset:${masked.datasetId}`, `dataset:${clear.datasetId}`]);
    expect(records[0]!.details).toMatchObject({ rows: 2, columns: { profile__email: 'hash', profile__birth: 'clear' } });
  });

  test('a classified read is in the trail before the dataset is published: a build stopped after publishing its file (an interrupt, a crash) leaves the record', async () => {
    const spine = join(env.dir, 'spine.csv');
    const out = join(env.dir, 'stopped.parquet');
    const before = (await env.platform.metadata.audit.list()).filter((r) => r.action === 'classified.read').length;
    const off = onTestPause('dataset.manifest-written', () => { throw new Error('stopped after the manifest'); });
    try {
      await expect(buildDataset(env.platform, env.project, { spine, service: 'crm', out, principal: principal('analyst') })).rejects.toThrow('stopped after the manifest');
    } finally {
      off();
    }
    expect(existsSync(out)).toBe(true);
    const reads = (await env.platform.metadata.audit.list()).filter((r) => r.action === 'classified.read');
    expect(reads).toHaveLength(before + 1);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as { datasetId: string; rowCount: number };
    expect(reads.at(-1)).toMatchObject({ target: `dataset:${manifest.datasetId}`, details: { rows: manifest.rowCount, path: 'dataset' } });
  });

  test('--as a role only ever masks more: fraud-model as analyst gets the analyst\'s hash', async () => {
    const spine = join(env.dir, 'spine.csv');
    const built = await buildDataset(env.platform, env.project, { spine, service: 'crm', out: join(env.dir, 'as.parquet'), principal: principal('fraud-model'), asRoles: ['analyst'] });
    expect(built.masked).toMatchObject({ profile__email: 'hash' });
    const loosened = await buildDataset(env.platform, env.project, { spine, service: 'crm', out: join(env.dir, 'as2.parquet'), principal: principal('analyst'), asRoles: ['fraud-model'] });
    expect(loosened.masked).toMatchObject({ profile__email: 'hash' });
  });
});

describe('dead letters', () => {
  test('raw rows and the values reasons quote are masked for a masked role, clear for a granted one; audited', async () => {
    const stored = await env.platform.metadata.listDeadLetters({ source: 'customers', limit: 10 });
    expect(stored).toHaveLength(1);
    const analyst = await maskDeadLetters(env.platform, env.project, principal('analyst'), stored);
    expect(analyst[0]!.raw).toBe('[masked: a row of source "customers", whose columns email (hash), phone (hash), diagnosis (null) are masked for you]');
    const model = await maskDeadLetters(env.platform, env.project, principal('fraud-model'), stored);
    expect(model[0]!.raw).not.toContain('eve@example.com');
    expect(model[0]!.raw).not.toContain('flu');
    // A reason never quotes the value of a classified column (it goes to logs, push answers, errors); others' values it does.
    expect(stored[0]!.reason).toContain('column "birth": its value (classified, not shown) is not a timestamp');
    expect(stored[0]!.reason).not.toContain('not-a-date');
    expect(stored[0]!.reason).toContain('column "visits": "1.5" is not an int64');
    // Reasons stored before (or quoting differently) are redacted when read, for the columns masked for the reader.
    expect(redactReason('column "birth": "not-a-date" is not a timestamp; column "tags": element 2 ("x") is not a string', ['birth', 'tags'])).toBe('column "birth": [masked] is not a timestamp; column "tags": element 2 ([masked]) is not a string');
    const records = await classifiedReads('dlq', 3);
    expect(records[0]).toMatchObject({ target: 'source:customers', details: { rows: 1, columns: { email: 'hash', diagnosis: 'null' } } });
  });

  test('a JSON row\'s member named like a masked column in another case, or a member no column reads (nested too), is not shown in clear (found by the governance pass: "EMAIL" and {"extra":{"email"}} were)', async () => {
    const raw = '{"customer_id":"c1","EMAIL":"ann@LEAK.example","extra":{"email":"bob@LEAK.example"},"visits":"x","ts":"bad"}';
    const [shown] = await maskDeadLetters(env.platform, env.project, principal('analyst'), [{ source: 'customers', file: 'f.jsonl', line: 1, raw, reason: 'column "ts": "bad" is not a timestamp', createdAt: 1 }]);
    expect(shown!.raw).not.toContain('LEAK');
    expect(JSON.parse(shown!.raw)).toMatchObject({ customer_id: 'c1', visits: 'x', ts: 'bad', EMAIL: keyedHash(projectSecret(env.platform.dataDir), 'mask', 'ann@LEAK.example') });
  });

  test('an erased row\'s dead letter shows its keyed hash, as the docs say, not "no column of the source" (review rev11 finding 4); a row that only looks like one is masked', async () => {
    const raw = `{"erased": "${'ab'.repeat(32)}"}`;
    const letter = (text: string, reason: string) => ({ source: 'customers', file: 'f.jsonl', line: 1, raw: text, reason, createdAt: 1 });
    const [erased, lookalike] = await maskDeadLetters(env.platform, env.project, principal('analyst'), [letter(raw, 'erased'), letter('{"erased": "ann@LEAK.example"}', 'erased')]);
    expect(erased!.raw).toBe(raw);
    expect(lookalike!.raw).not.toContain('LEAK');
  });
});

test('data quality check samples never show a classified column\'s value (they reach results, alerts and logs); other columns\' they do', async () => {
  const results = await env.platform.metadata.quality.latestResults({ dataset: 'customers' });
  const diagnosis = results.find((r) => r.check.includes('diagnosis'))!;
  const visits = results.find((r) => r.check.includes('visits'))!;
  expect(diagnosis.passed).toBe(false);
  expect(diagnosis.samples).toContain('"[classified]"');
  expect(JSON.stringify(results)).not.toContain(ANN.diagnosis);
  expect(visits.samples).toContain('3');
});
