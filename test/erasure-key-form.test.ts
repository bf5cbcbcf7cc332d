import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { allow, batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { createApiKey } from '../src/compliance/access/api-keys.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { requestErasure } from '../src/compliance/erasure/request-erasure.js';
import { erasureHash } from '../src/compliance/erasure/erasure-hash.js';
import { projectSecret } from '../src/compliance/project-secret.js';
import type { Principal } from '../src/compliance/principal.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';

// An int64 key, and a composite key of a string part and an int64 part, on one source.
const acct = entity({ name: 'acct', joinKey: 'acct_id' });
const branchAcct = entity({ name: 'branch_acct', joinKeys: ['branch', 'acct_id'] });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', branch: 'string', acct_id: 'int64', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const byAcct = featureView({ name: 'by_acct', entity: acct, source: txns, features: { n: count() } });
const byBranch = featureView({ name: 'by_branch', entity: branchAcct, source: txns, features: { n: count() } });
const spec = defineProject({
  name: 'erase_key_form', entities: [acct, branchAcct], sources: [txns], featureViews: [byAcct, byBranch],
  access: [allow({ role: 'dpo', admin: ['erase'] })],
});

const NOW = Date.parse('2024-03-01T00:00:00Z');
const operator: Principal = { name: 'cli:dpo', roles: ['local-operator'], origin: 'local' };
async function platformFor(project: typeof spec) {
  const t = await tempPlatform(project, NOW);
  onTestFinished(t.dispose);
  return t;
}

async function setup() {
  const t = await platformFor(spec);
  const file = join(t.dir, 'txns.csv');
  writeFileSync(file, 'txn_id,branch,acct_id,amount,ts\nt1,eu,42,10,2024-02-01T00:00:00Z\nt2,eu,7,20,2024-02-01T00:00:00Z\n');
  expect(await ingestFile(t.platform, t.project, 'txns', file)).toMatchObject({ accepted: 2, rejected: 0 });
  const ingest = async (name: string, rows: string) => {
    const path = join(t.dir, name);
    writeFileSync(path, `txn_id,branch,acct_id,amount,ts\n${rows}`);
    return ingestFile(t.platform, t.project, 'txns', path);
  };
  return { ...t, ingest };
}

test.each(['042', '+42', '42'])('erasing an int64 key written %s erases and blocks the entity 42 (the key read as an int64, made canonical)', async (written) => {
  const { platform, project, ingest } = await setup();
  const { certificate, request } = await eraseSubject(platform, project, { entity: 'acct', key: [written], principal: operator });
  expect(request.status).toBe('completed');
  expect(certificate.subject).toBe(erasureHash(projectSecret(platform.dataDir), 'acct', '42'));
  expect(certificate.rows).toBeGreaterThan(0);
  expect(await ingest('again.csv', 't3,eu,42,1,2024-02-02T00:00:00Z\nt4,eu,042,1,2024-02-02T00:00:00Z\nt5,eu,7,1,2024-02-02T00:00:00Z\n')).toMatchObject({ accepted: 1, rejected: 2 });
});

test('a key that is no int64 (letters, past 2^63, a fraction) is refused naming the type; nothing is recorded or blocked', async () => {
  const { platform, project } = await setup();
  for (const key of ['abc', '99999999999999999999', '4.2', ' 42']) {
    await expect(requestErasure(platform, project, { entity: 'acct', key: [key], principal: operator }))
      .rejects.toThrow('entity "acct": key column "acct_id" is int64 and the part given for it is not an int64 (an optional sign and decimal digits, from -2^63 to 2^63-1, e.g. 42)');
  }
  expect(await platform.metadata.erasure.list()).toEqual([]);
  expect((await platform.metadata.erasure.blockList()).hashes).toEqual([]);
  const failed = (await platform.metadata.audit.list()).filter((r) => r.action === 'erase.requested');
  expect(failed.map((r) => r.outcome)).toEqual(['failed', 'failed', 'failed', 'failed']);
});

test('a composite key reads each part by its column\'s type: ("eu", "007") is ("eu", 7); a string part stays as written', async () => {
  const { platform, project, ingest } = await setup();
  const { certificate } = await eraseSubject(platform, project, { entity: 'branch_acct', key: ['eu', '007'], principal: operator });
  expect(certificate.subject).toBe(erasureHash(projectSecret(platform.dataDir), 'branch_acct', '2:eu1:7'));
  expect(certificate.rows).toBeGreaterThan(0);
  expect(await ingest('again.csv', 't3,eu,7,1,2024-02-02T00:00:00Z\nt4,EU,7,1,2024-02-02T00:00:00Z\n')).toMatchObject({ accepted: 1, rejected: 1 });
  await expect(requestErasure(platform, project, { entity: 'branch_acct', key: ['eu', 'x7'], principal: operator }))
    .rejects.toThrow('entity "branch_acct": key column "acct_id" is int64 and the part given for it is not an int64');
});

test('a key column typed int64 in one source and string in another: an int64 text not in canonical form is refused, as it names two values', async () => {
  const notes = batchSource({ name: 'notes', schema: { note_id: 'string', acct_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
  const mixed = defineProject({ name: 'mixed', entities: [acct], sources: [txns, notes], featureViews: [byAcct] });
  const t = await platformFor(mixed);
  await expect(requestErasure(t.platform, t.project, { entity: 'acct', key: ['042'], principal: operator }))
    .rejects.toThrow('entity "acct": key column "acct_id" is int64 in source "txns" and string in source "notes", so the part given for it, an int64 not in canonical form');
  const { subject } = await requestErasure(t.platform, t.project, { entity: 'acct', key: ['42'], principal: operator });
  expect(subject.key).toBe('42');
  const { subject: text } = await requestErasure(t.platform, t.project, { entity: 'acct', key: ['a-42'], principal: operator });
  expect(text.key).toBe('a-42');
});

test('POST /v1/erase reads the key by its column\'s type: "+42" and the JSON integer 42 erase 42; 2^53 and past, a fraction or "abc" are a 400 saying what to send', async () => {
  const { platform } = await setup();
  const token = (await createApiKey(platform.metadata, { principal: 'dpo-svc', roles: ['dpo'] }, operator, NOW)).token;
  const app = await createServer(platform, { keyCacheMs: 0 });
  onTestFinished(() => app.close());
  const erase = (body: unknown) => app.inject({ method: 'POST', url: '/v1/erase', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const hash42 = erasureHash(projectSecret(platform.dataDir), 'acct', '42');
  const first = await erase({ entity: 'acct', key: '+42' });
  expect(first.statusCode).toBe(200);
  expect(first.json()).toMatchObject({ subject: hash42 });
  expect(first.json().rows).toBeGreaterThan(0);
  const number = await erase({ entity: 'acct', key: 42 });
  expect(number.statusCode).toBe(200);
  expect(number.json()).toMatchObject({ subject: hash42 });
  const composite = await erase({ entity: 'branch_acct', key: ['eu', 7] });
  expect(composite.statusCode).toBe(200);
  expect(composite.json()).toMatchObject({ subject: erasureHash(projectSecret(platform.dataDir), 'branch_acct', '2:eu1:7') });
  const big = await erase('{"entity": "acct", "key": 9007199254740993}');
  expect(big.statusCode).toBe(400);
  expect(big.json().error.message).toContain('send it as a string');
  const fraction = await erase({ entity: 'acct', key: 4.5 });
  expect(fraction.statusCode).toBe(400);
  expect(fraction.json().error.message).toContain('a key part is a string or an integer');
  const letters = await erase({ entity: 'acct', key: 'abc' });
  expect(letters.statusCode).toBe(400);
  expect(letters.json().error.message).toContain('key column "acct_id" is int64 and the part given for it is not an int64');
  expect((await platform.metadata.erasure.list()).map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
});
