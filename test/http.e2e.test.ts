import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPlatform, type Platform } from '../src/platform.js';
import { createServer } from '../src/serving/http/server.js';
import { sluice } from './support/cli.js';

let dir: string;
let platform: Platform;
let app: FastifyInstance;

const post = (payload: string | object, contentType = 'application/json') =>
  app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': contentType }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-http-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  // Events relative to now, so that windows are live when the server answers.
  const now = Date.now();
  const iso = (agoMs: number) => new Date(now - agoMs).toISOString();
  writeFileSync(join(dir, 'data', 'recent.csv'), ['txn_id,customer_id,amount,merchant,ts', `r1,c1,10.25,m1,${iso(90 * 60_000)}`, `r2,c1,0.1,m2,${iso(30 * 60_000)}`, `r3,c1,0.2,m2,${iso(60_000)}`, `r4,c2,5,m1,${iso(2 * 86_400_000)}`].join('\n'));
  writeFileSync(join(dir, 'data', 'profiles.csv'), ['customer_id,segment,updated_at', `c1,gold,${iso(86_400_000)}`, `c2,silver,${iso(40 * 86_400_000)}`, `c3,,${iso(1000)}`].join('\n'));
  for (const args of [['apply'], ['ingest', 'transactions', '--file', 'data/recent.csv'], ['ingest', 'customers', '--file', 'data/profiles.csv'], ['materialize']]) {
    expect(sluice(dir, ...args).code).toBe(0);
  }
  platform = openPlatform({ projectDir: dir });
  app = await createServer(platform);
});
afterAll(async () => {
  await app?.close();
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTP API', () => {
  test('POST /v1/features/online answers rows in request order, with status and age per value', async () => {
    const res = await post({ entities: { customer_id: ['c2', 'c1', 'c3', 'zz'] }, service: 'fraud_v1' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.asOf).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(body.rows.map((r: Record<string, unknown>) => r.customer_id)).toEqual(['c2', 'c1', 'c3', 'zz']);
    expect(body.rows[1]).toMatchObject({ txn_stats__txn_count_1h: 2, txn_stats__last_amount: 0.2, profile__segment: 'gold' });
    // The exact sum, rounded once: not 10.549999999999999, what adding 10.25 + 0.1 + 0.2 in order gives.
    expect(body.rows[1].txn_stats__amount_sum_24h).toBe(10.55);
    const at = (row: number, feature: string) => {
      const i = body.features.indexOf(feature);
      return { status: body.metadata[row].status[i], ageMs: body.metadata[row].ageMs[i] };
    };
    expect(body.metadata[1].status).toHaveLength(body.features.length);
    expect(at(1, 'txn_stats__last_amount').status).toBe('PRESENT');
    expect(at(1, 'txn_stats__last_amount').ageMs).toBeGreaterThanOrEqual(60_000);
    expect(at(0, 'profile__segment').status).toBe('OUTSIDE_TTL');
    expect(body.rows[0].profile__segment).toBeNull();
    expect(at(2, 'profile__segment').status).toBe('NULL');
    expect(at(3, 'txn_stats__txn_count_1h')).toEqual({ status: 'NOT_FOUND', ageMs: null });
    expect(body.rows[3].txn_stats__txn_count_1h).toBe(0);
  });

  test('features by name, in the order asked', async () => {
    const res = await post({ entities: { customer_id: ['c1'] }, features: ['profile:segment', 'txn_stats:txn_count_1h'] });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().rows[0])).toEqual(['customer_id', 'profile__segment', 'txn_stats__txn_count_1h']);
  });

  test('a feature named twice is answered once', async () => {
    const res = await post({ entities: { customer_id: ['c1'] }, features: ['txn_stats:last_amount', 'profile:segment', 'txn_stats:last_amount'] });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.features).toEqual(['txn_stats__last_amount', 'profile__segment']);
    expect(body.rows[0]).toEqual({ customer_id: 'c1', txn_stats__last_amount: 0.2, profile__segment: 'gold' });
    expect(body.metadata[0].status).toEqual(['PRESENT', 'PRESENT']);
  });

  test.each([
    ['bad JSON', '{"entities": ', 400, 'BAD_REQUEST'],
    ['a JSON array', '[1, 2]', 400, 'BAD_REQUEST'],
    ['no entities', { service: 'fraud_v1' }, 400, 'BAD_REQUEST'],
    ['entities not an object', { service: 'fraud_v1', entities: ['c1'] }, 400, 'BAD_REQUEST'],
    ['a missing join key', { service: 'fraud_v1', entities: { user_id: ['c1'] } }, 400, 'MISSING_ENTITY_KEY'],
    ['join key values not a list', { service: 'fraud_v1', entities: { customer_id: 'c1' } }, 400, 'BAD_REQUEST'],
    ['join key values of the wrong type', { service: 'fraud_v1', entities: { customer_id: [{ a: 1 }] } }, 400, 'BAD_REQUEST'],
    ['an unknown service', { service: 'fraud_v9', entities: { customer_id: ['c1'] } }, 404, 'UNKNOWN_SERVICE'],
    ['an unknown feature', { features: ['txn_stats:nope'], entities: { customer_id: ['c1'] } }, 404, 'UNKNOWN_FEATURE'],
    ['an unknown view', { features: ['nope:x'], entities: { customer_id: ['c1'] } }, 404, 'UNKNOWN_FEATURE'],
    ['features not a list', { features: 'txn_stats:last_amount', entities: { customer_id: ['c1'] } }, 400, 'BAD_REQUEST'],
    ['neither service nor features', { entities: { customer_id: ['c1'] } }, 404, 'UNKNOWN_FEATURE'],
  ])('%s gives a JSON error, never a 500', async (_name, payload, status, code) => {
    const res = await post(payload as string | object);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  test('a wrong content type and an unknown route are 4xx JSON errors', async () => {
    const res = await post('customer_id=c1', 'application/x-www-form-urlencoded');
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('BAD_REQUEST');
    const missing = await app.inject({ method: 'GET', url: '/v2/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
  });

  test('GET /health and GET /v1/registry', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ status: 'ok', registryVersion: 1, served: { stale: 0 } });
    const registry = (await app.inject({ method: 'GET', url: '/v1/registry' })).json();
    expect(registry.version).toBe(1);
    expect(registry.project.featureServices[0].name).toBe('fraud_v1');
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('sluice serve, as a real server', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  test('the value served with asOf T equals the training dataset value for the spine row (entity, T)', async () => {
    const port = await freePort();
    child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sluice.js'), 'serve', '--port', String(port)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('serving on') && resolve());
      child!.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const keys = ['c1', 'c2', 'c3', 'zz'];
    const res = await fetch(`http://127.0.0.1:${port}/v1/features/online`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'fraud_v1', entities: { customer_id: keys } }) });
    expect(res.status).toBe(200);
    const online = (await res.json()) as { asOf: string; features: string[]; rows: Array<Record<string, unknown>> };
    writeFileSync(join(dir, 'spine.csv'), ['customer_id,ts', ...keys.map((k) => `${k},${online.asOf}`)].join('\n'));
    expect(sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--service', 'fraud_v1', '--out', 'check.jsonl').code).toBe(0);
    const offline = readFileSync(join(dir, 'check.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    online.rows.forEach((row, i) => {
      for (const feature of online.features) expect({ key: keys[i], feature, value: offline[i]![feature] ?? null }).toEqual({ key: keys[i], feature, value: row[feature] });
    });
    expect(online.rows[1]!.txn_stats__amount_avg_7d).toBe(5);
  });
});
