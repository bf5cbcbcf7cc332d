import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { avg, batchSource, bindRequestFunctions, count, defineProject, entity, featureService, featureView, field, last, requestView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { rebuildDataset } from '../src/serving/datasets/rebuild-dataset.js';
import { createServer } from '../src/serving/http/server.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2026-01-10T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', schema: { customer_id: 'string', amount: 'float64', country: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const txnStats = featureView({ name: 'txn_stats', entity: customer, source: transactions, features: { amount_avg_7d: avg('amount', { window: '7d' }), n: count() } });
const profile = featureView({ name: 'profile', entity: customer, source: transactions, features: { country: field('country'), seen: last('ts') } });
const risk = requestView({
  name: 'payment_risk',
  request: { amount: 'float64', merchant_country: 'string' },
  inputs: [txnStats, profile],
  features: {
    amount_vs_avg_7d: ({ request, txn_stats }) => (txn_stats.amount_avg_7d === null ? null : request.amount / txn_stats.amount_avg_7d),
    foreign: ({ request, profile }) => (profile.country === null ? null : request.merchant_country !== profile.country),
    since_seen: ({ request, profile }) => (profile.seen === null ? null : Math.round(request.amount) + profile.seen),
  },
  types: { amount_vs_avg_7d: 'float64', foreign: 'bool', since_seen: 'timestamp' },
});
const broken = requestView({
  name: 'broken',
  request: { amount: 'float64' },
  inputs: [txnStats],
  features: {
    throws: ({ request }) => {
      if (request.amount > 100) throw new Error(`amount ${request.amount} is too large`);
      return request.amount;
    },
    // The declared type says float64; this returns text (a user bug the types cannot always catch).
    wrong: ({ request }) => String(request.amount) as unknown as number,
    infinite: ({ request, txn_stats }) => request.amount / (txn_stats.n ?? 0),
  },
  types: { throws: 'float64', wrong: 'float64', infinite: 'float64' },
});
const spec = defineProject({
  name: 'rv', entities: [customer], sources: [transactions], featureViews: [txnStats, profile], requestViews: [risk, broken],
  featureServices: [featureService({ name: 'risk', features: [risk] }), featureService({ name: 'mixed', features: ['txn_stats:n', risk, broken] })],
});

let env: Awaited<ReturnType<typeof tempPlatform>>;
let app: FastifyInstance;
const post = (payload: object) => app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

beforeAll(async () => {
  env = await tempPlatform(spec, T0);
  const file = join(env.dir, 'txns.csv');
  const iso = (agoMs: number) => new Date(T0 - agoMs).toISOString();
  writeFileSync(file, ['customer_id,amount,country,ts', `c1,10,FR,${iso(3_600_000)}`, `c1,30,FR,${iso(60_000)}`, `c2,5,,${iso(1000)}`].join('\n'));
  await ingestFile(env.platform, env.project, 'transactions', file);
  await materialize(env.platform, env.project);
  app = await createServer(env.platform);
});
afterAll(async () => {
  await app?.close();
  await env?.dispose();
});

describe('request views online', () => {
  test('compute from the request values and the input views, typed, with statuses from the inputs', async () => {
    const res = await post({ entities: { customer_id: ['c1', 'c2', 'nobody'] }, request: { amount: [40, 1, 7], merchant_country: ['DE', 'FR', 'FR'] }, service: 'risk' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.features).toEqual(['payment_risk__amount_vs_avg_7d', 'payment_risk__foreign', 'payment_risk__since_seen']);
    expect(body.rows[0]).toEqual({ customer_id: 'c1', payment_risk__amount_vs_avg_7d: 2, payment_risk__foreign: true, payment_risk__since_seen: new Date(T0 - 60_000 + 40).toISOString() });
    expect(body.metadata[0]).toEqual({ status: ['PRESENT', 'PRESENT', 'PRESENT'], ageMs: [60_000, 60_000, 60_000] });
    expect(body.rows[1]).toMatchObject({ payment_risk__amount_vs_avg_7d: 0.2, payment_risk__foreign: null });
    expect(body.metadata[1].status).toEqual(['PRESENT', 'NULL', 'PRESENT']);
    // An entity the views never saw: the function still runs, on nulls (counts: 0), and says NOT_FOUND.
    expect(body.rows[2]).toMatchObject({ payment_risk__amount_vs_avg_7d: null, payment_risk__foreign: null });
    expect(body.metadata[2].status).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    expect(body.errors).toBe(0);
  });

  test('a function that throws or returns the wrong type gives null with status ERROR, counted, never a 500', async () => {
    const res = await post({ entities: { customer_id: ['c1', 'c1'] }, request: { amount: [500, 50], merchant_country: ['FR', 'FR'] }, service: 'mixed' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const at = (row: number, column: string) => ({ value: body.rows[row][column], status: body.metadata[row].status[body.features.indexOf(column)] });
    expect(at(0, 'broken__throws')).toEqual({ value: null, status: 'ERROR' });
    expect(at(1, 'broken__throws')).toEqual({ value: 50, status: 'PRESENT' });
    expect(at(1, 'broken__wrong')).toEqual({ value: null, status: 'ERROR' });
    expect(at(0, 'txn_stats__n')).toEqual({ value: 2, status: 'PRESENT' });
    expect(at(0, 'payment_risk__foreign')).toEqual({ value: false, status: 'PRESENT' });
    expect(body.errors).toBe(3);
    const nobody = (await post({ entities: { customer_id: ['nobody'] }, request: { amount: [1], merchant_country: ['FR'] }, features: ['broken:infinite'] })).json();
    expect(nobody.metadata[0].status).toEqual(['ERROR']);
    expect((await app.inject({ method: 'GET', url: '/health' })).json().served.errors).toBe(4);
  });

  test('missing, short or mistyped request fields are a 400 naming them', async () => {
    const missing = await post({ entities: { customer_id: ['c1'] }, request: { amount: [1] }, service: 'risk' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toMatch(/request has no request field "merchant_country", needed by request view "payment_risk"/);
    const none = await post({ entities: { customer_id: ['c1'] }, service: 'risk' });
    expect(none.json().error.message).toMatch(/"amount", "merchant_country"/);
    const short = await post({ entities: { customer_id: ['c1', 'c2'] }, request: { amount: [1], merchant_country: ['FR', 'DE'] }, service: 'risk' });
    expect(short.statusCode).toBe(400);
    expect(short.json().error.message).toMatch(/request.amount must be an array of 2 value\(s\), one per entity \(it has 1\)/);
    const typed = await post({ entities: { customer_id: ['c1'] }, request: { amount: ['12'], merchant_country: ['FR'] }, service: 'risk' });
    expect(typed.statusCode).toBe(400);
    expect(typed.json().error.message).toMatch(/request.amount\[0\] is "12", not a float64/);
    // Feature views alone need no request values.
    expect((await post({ entities: { customer_id: ['c1'] }, features: ['txn_stats:n'] })).statusCode).toBe(200);
  });
});

describe('request views in datasets', () => {
  test('the spine carries the request columns; each row gets the same values as serving at its time', async () => {
    const spine = join(env.dir, 'spine.csv');
    const ts = new Date(T0).toISOString();
    writeFileSync(spine, ['customer_id,ts,amount,merchant_country', `c1,${ts},40,DE`, `c2,${ts},1,FR`, `nobody,${ts},7,FR`, `c1,${ts},500,FR`].join('\n'));
    const out = join(env.dir, 'risk.jsonl');
    const manifest = await buildDataset(env.platform, env.project, { spine, out, service: 'mixed' });
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const online = (await post({ entities: { customer_id: ['c1', 'c2', 'nobody', 'c1'] }, request: { amount: [40, 1, 7, 500], merchant_country: ['DE', 'FR', 'FR', 'FR'] }, service: 'mixed' })).json();
    for (const [i, row] of rows.entries()) {
      for (const column of online.features) expect({ i, column, value: row[column] }).toEqual({ i, column, value: online.rows[i][column] });
    }
    expect(rows[0]).toMatchObject({ amount: '40', payment_risk__amount_vs_avg_7d: 2, payment_risk__foreign: true });
    expect(manifest.requestErrors).toEqual({
      broken__throws: { rows: 1, first: expect.stringMatching(/^spine row 4: threw Error \(message not shown, token [0-9a-f]{16}\)$/) as unknown },
      broken__wrong: { rows: 4, first: 'spine row 1: returned a string, not a float64' },
      broken__infinite: { rows: 1, first: expect.stringMatching(/^spine row 3: returned Infinity/) as unknown },
    });
    expect(manifest.definitions.payment_risk).toBe(env.project.requestViews[0]!.hash);
    const again = await rebuildDataset(env.platform, env.project, `${out}.manifest.json`, { out: join(env.dir, 'again.jsonl') });
    expect(again.datasetId).toBe(manifest.datasetId);
    expect(readFileSync(join(env.dir, 'again.jsonl'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  });

  test('a spine without a request column is refused, naming it', async () => {
    const spine = join(env.dir, 'short.csv');
    writeFileSync(spine, ['customer_id,ts,amount', `c1,${new Date(T0).toISOString()},40`].join('\n'));
    await expect(buildDataset(env.platform, env.project, { spine, out: join(env.dir, 'x.jsonl'), service: 'risk' })).rejects.toThrow(/has no column "merchant_country", a request field/);
    writeFileSync(spine, ['customer_id,ts,amount,merchant_country', `c1,${new Date(T0).toISOString()},abc,FR`].join('\n'));
    await expect(buildDataset(env.platform, env.project, { spine, out: join(env.dir, 'x.jsonl'), service: 'risk' })).rejects.toThrow(/spine row 1: request field "amount" \(of request view "payment_risk"\) is missing or not a float64/);
  });
});

describe('functions that are not the applied ones', () => {
  test('fail the requests that need them with a 409 naming the fix; other features are served', async () => {
    const edited = requestView({ ...risk, request: { amount: 'float64', merchant_country: 'string' }, inputs: [txnStats, profile], types: { amount_vs_avg_7d: 'float64', foreign: 'bool', since_seen: 'timestamp' },
      features: { ...risk.features, foreign: () => true } } as never);
    const editedSpec = defineProject({ ...spec, requestViews: [edited, broken] });
    const other = await createServer(env.platform, { requestFunctions: async (project) => bindRequestFunctions(editedSpec, project) });
    try {
      const asked = await other.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: ['c1'] }, request: { amount: [1], merchant_country: ['FR'] }, service: 'risk' } });
      expect(asked.statusCode).toBe(409);
      expect(asked.json().error.message).toMatch(/request view "payment_risk", feature "foreign": its function in sluice.config.ts differs from the applied definition; run "sluice apply"/);
      const plain = await other.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: ['c1'] }, features: ['txn_stats:n'] } });
      expect(plain.statusCode).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('large requests', () => {
  test('are evaluated in slices, request values sliced with their entities', async () => {
    const n = 600;
    const ids = Array.from({ length: n }, (_, i) => (i % 2 ? 'c1' : 'c2'));
    const amounts = Array.from({ length: n }, (_, i) => i);
    const res = await post({ entities: { customer_id: ids }, request: { amount: amounts, merchant_country: ids.map(() => 'FR') }, features: ['payment_risk:amount_vs_avg_7d'] });
    expect(res.statusCode).toBe(200);
    expect(res.json().rows.map((r: Record<string, number>) => r.payment_risk__amount_vs_avg_7d)).toEqual(amounts.map((a, i) => (i % 2 ? a / 20 : a / 5)));
    const short = await post({ entities: { customer_id: ids }, request: { amount: amounts.slice(1), merchant_country: ids.map(() => 'FR') }, features: ['payment_risk:amount_vs_avg_7d'] });
    expect(short.statusCode).toBe(400);
    expect(short.json().error.message).toMatch(/request.amount must be an array of 600 value\(s\)/);
  });
});

describe('failures are logged', () => {
  test('with the column, the row and the reason: the error\'s class and a token of its message, never the message', async () => {
    const lines: string[] = [];
    const logged = await createServer(env.platform, { logLevel: 'warn', logStream: { write: (line) => lines.push(line) } });
    try {
      const res = await logged.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: ['c1', 'c1'] }, request: { amount: [5, 500] }, features: ['broken:throws'] } });
      expect(res.json().errors).toBe(1);
      const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg !== undefined && String(l.msg).startsWith('request view function failed'));
      expect(warning).toMatchObject({ errors: 1, column: 'broken__throws', row: 1, reason: expect.stringMatching(/^threw Error \(message not shown, token [0-9a-f]{16}\)$/) as unknown });
      expect(lines.join('\n')).not.toContain('amount 500');
    } finally {
      await logged.close();
    }
  });
});

describe('stale inputs', () => {
  // Last: it commits data the online tables do not have.
  test('a request feature over a STALE view says STALE, and stale counts exactly the STALE values answered', async () => {
    const file = join(env.dir, 'more.csv');
    writeFileSync(file, ['customer_id,amount,country,ts', `c1,1000,FR,${new Date(T0 - 5000).toISOString()}`].join('\n'));
    await ingestFile(env.platform, env.project, 'transactions', file);
    const latest = await latestSnapshots(env.platform.metadata, env.project);
    const store = await env.platform.online();
    const ask = (service: string) => getOnlineFeatures(env.project, store, { service, entities: { customer_id: ['c1'] }, request: { amount: [500], merchant_country: ['FR'] } }, T0, latest, { functions: bindRequestFunctions(spec, env.project) });
    const risky = await ask('risk');
    expect(risky.metadata[0]!.status).toEqual(['STALE', 'STALE', 'STALE']);
    expect(risky.rows[0]!.payment_risk__amount_vs_avg_7d).toBe(25);
    expect(risky.stale).toBe(3);
    const mixed = await ask('mixed');
    const statuses = mixed.metadata[0]!.status;
    expect(statuses[mixed.features.indexOf('broken__throws')]).toBe('ERROR');
    expect(mixed.stale).toBe(statuses.filter((x) => x === 'STALE').length);
  });
});
