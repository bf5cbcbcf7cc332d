import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { batchSource, defineProject, entity, featureView, field, pii, requestView } from '../src/definitions/index.js';
import { keyedHash, projectSecret } from '../src/compliance/project-secret.js';
import { USER_ERROR_PURPOSE } from '../src/compliance/masking/user-error-token.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';

// The rule for user code: what a request view's function throws is never echoed (it may quote a
// classified value); the log and the dataset manifest name the view's feature, the error class
// and a keyed-hash token of the message.
const EMAIL = 'MARKER-5f3a@example.com';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', email: 'string', ts: 'timestamp' }, timestamp: 'ts', classify: { email: pii('direct') } });
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { email: field('email') } });
class ContactError extends Error {
  override name = 'ContactError';
}
const contact = requestView({
  name: 'contact', request: { channel: 'string' }, inputs: [profile],
  features: {
    check: ({ request, profile }) => {
      if (request.channel !== 'mail') throw new ContactError(`bad email ${profile.email} for ${request.channel}`);
      return true;
    },
    // Returns the classified value where a number is declared: the reason does not quote it.
    wrong: ({ profile }) => profile.email as unknown as number,
  },
  types: { check: 'bool', wrong: 'float64' },
});
const spec = defineProject({ name: 'usererr', entities: [customer], sources: [customers], featureViews: [profile], requestViews: [contact] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
let app: FastifyInstance;
const lines: string[] = [];

beforeAll(async () => {
  env = await tempPlatform(spec, Date.parse('2026-11-28T12:00:00Z'));
  const csv = join(env.dir, 'customers.csv');
  writeFileSync(csv, `customer_id,email,ts\nc1,${EMAIL},2026-11-01T00:00:00Z\n`);
  await ingestFile(env.platform, env.project, 'customers', csv);
  await materialize(env.platform, env.project);
  app = await createServer(env.platform, { logLevel: 'trace', logStream: { write: (line) => lines.push(line) } });
});
afterAll(async () => {
  await app?.close();
  await env?.dispose();
});

describe('errors of request views\' functions never echo their message', () => {
  test('HTTP answer, log lines, audit trail and metrics hold no part of it; the log names the feature, the class and a token', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ entities: { customer_id: ['c1'] }, request: { channel: ['sms'] }, features: ['contact:check', 'contact:wrong'] }) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ errors: 2, rows: [{ contact__check: null, contact__wrong: null }] });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const audit = JSON.stringify(await env.platform.metadata.audit.list());
    for (const text of [res.body, lines.join('\n'), audit, metrics]) {
      expect(text).not.toContain(EMAIL);
      expect(text).not.toContain('bad email');
    }
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).startsWith('request view function failed'))!;
    const token = keyedHash(projectSecret(env.platform.dataDir), USER_ERROR_PURPOSE, `bad email ${EMAIL} for sms`).slice(0, 16);
    expect(warning).toMatchObject({ column: 'contact__check', reason: `threw ContactError (message not shown, token ${token})` });
  });

  test('a dataset\'s manifest and its output give the reason the same way', async () => {
    const spine = join(env.dir, 'spine.csv');
    writeFileSync(spine, 'customer_id,ts,channel\nc1,2026-11-20T00:00:00Z,sms\n');
    const out = join(env.dir, 'out.jsonl');
    const manifest = await buildDataset(env.platform, env.project, { spine, out, features: ['contact:check', 'contact:wrong'] });
    expect(manifest.requestErrors).toEqual({
      contact__check: { rows: 1, first: expect.stringMatching(/^spine row 1: threw ContactError \(message not shown, token [0-9a-f]{16}\)$/) as unknown },
      contact__wrong: { rows: 1, first: 'spine row 1: returned a string, not a float64' },
    });
    expect(JSON.stringify(manifest) + readFileSync(out, 'utf8')).not.toContain(EMAIL);
  });
});
