import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPlatform, type Platform } from '../src/platform.js';
import { createServer } from '../src/serving/http/server.js';
import { sluice } from './support/cli.js';
import { freePort } from './support/free-port.js';
import { tempPlatform } from './support/temp-platform.js';
import { batchSource, count, defineProject, entity, featureService, featureView } from '../src/definitions/index.js';

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
    ['both service and features', { service: 'fraud_v1', features: ['txn_stats:last_amount'], entities: { customer_id: ['c1'] } }, 400, 'BAD_REQUEST'],
    ['an empty body', '', 400, 'BAD_REQUEST'],
  ])('%s gives a JSON error, never a 500', async (_name, payload, status, code) => {
    const res = await post(payload as string | object);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  test('an entity key the requested features do not take (a typo beside the right key, or a second key) is a 400 naming it and the expected ones, never ignored', async () => {
    for (const entities of [{ customer_id: ['c1'], custmer_id: ['c2'] }, { custmer_id: ['c2'], customer_id: ['c1'] }, { customer_id: ['c1'], merchant_id: ['m1'] }]) {
      const res = await post({ service: 'fraud_v1', entities });
      expect(res.statusCode, JSON.stringify(entities)).toBe(400);
      const unknown = Object.keys(entities).find((k) => k !== 'customer_id')!;
      expect(res.json()).toEqual({ error: { code: 'UNKNOWN_ENTITY_KEY', message: `entity key "${unknown}" is not a join key of the requested features, which take "customer_id"; send {"entities": {"customer_id": [...]}}` } });
    }
    // The right key alone still answers, and so does a request of many entities.
    expect((await post({ service: 'fraud_v1', entities: { customer_id: ['c1', 'c2'] } })).statusCode).toBe(200);
  });

  test('a wrong content type and an unknown route are 4xx JSON errors', async () => {
    const res = await post('customer_id=c1', 'application/x-www-form-urlencoded');
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('BAD_REQUEST');
    const missing = await app.inject({ method: 'GET', url: '/v2/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
    // A path one segment short of a route names it (review rev4 finding 12).
    const short = await app.inject({ method: 'POST', url: '/v1/features', payload: {} });
    expect(short.statusCode).toBe(404);
    expect(short.json().error.message).toBe('no route POST /v1/features (did you mean POST /v1/features/online?)');
  });

  test('every error body has the documented shape, fastify\'s own included', async () => {
    const shape = { error: { code: expect.any(String), message: expect.any(String) } };
    const form = await post('customer_id=c1', 'application/x-www-form-urlencoded');
    expect(form.json()).toEqual(shape);
    const tooBig = await post(JSON.stringify({ entities: { customer_id: ['c1'] }, service: 'fraud_v1', pad: 'x'.repeat(9 * 1024 * 1024) }));
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toEqual({ error: { code: 'REQUEST_TOO_LARGE', message: expect.any(String) } });
    const badUrl = await app.inject({ method: 'GET', url: '/%zz' });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json()).toEqual(shape);
  });

  test('a wrong method gets 405 with Allow, not 404', async () => {
    const get = await app.inject({ method: 'GET', url: '/v1/features/online' });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(get.json()).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: expect.stringContaining('POST') } });
    const del = await app.inject({ method: 'DELETE', url: '/health?x=1' });
    expect(del.statusCode).toBe(405);
    expect(del.headers.allow).toBe('GET, HEAD');
  });

  test('entities per request are capped, with a message naming the cap and the option', async () => {
    const keys = Array.from({ length: 1001 }, (_, i) => `k${i}`);
    const res = await post({ entities: { customer_id: keys }, service: 'fraud_v1' });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: 'REQUEST_TOO_LARGE', message: expect.stringMatching(/1001 entities.*at most 1000.*--max-entities/) } });
    expect((await post({ entities: { customer_id: keys.slice(0, 1000) }, service: 'fraud_v1' })).statusCode).toBe(200);
  });

  test('a large request is answered in slices: the event loop turns while it is evaluated', async () => {
    const big = await createServer(platform, { maxEntitiesPerRequest: 5000 });
    try {
      const keys = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? 'c1' : `k${i}`));
      let turns = 0;
      let running = true;
      const spin = () => {
        turns++;
        if (running) setImmediate(spin);
      };
      setImmediate(spin);
      const res = await big.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ entities: { customer_id: keys }, service: 'fraud_v1' }) });
      running = false;
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.rows).toHaveLength(5000);
      expect(body.rows.map((r: Record<string, unknown>) => r.customer_id)).toEqual(keys);
      expect(body.rows[4998]).toEqual(body.rows[0]);
      expect(body.metadata[4999].status[0]).toBe('NOT_FOUND');
      expect(turns).toBeGreaterThanOrEqual(10);
    } finally {
      await big.close();
    }
  });

  test('large answers sent at once over real sockets are each whole and their own (answer buffers are reused only after a response is sent)', async () => {
    const second = await createServer(platform);
    try {
      const address = await second.listen({ port: 0, host: '127.0.0.1' });
      // 48 requests at once, each of its own keys in its own order (more than the 8 rows from which an answer is sent as bytes).
      const requests = Array.from({ length: 48 }, (_, i) => ({ service: 'fraud_v1', entities: { customer_id: [...['c1', 'c2', 'c3'].slice(i % 3), ...Array.from({ length: 9 + (i % 7) * 20 }, (_, k) => `k${i}-${k}`), 'c1'] } }));
      const answers = await Promise.all(requests.map(async (body) => {
        const res = await fetch(`${address}/v1/features/online`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: res.status, text: await res.text() };
      }));
      for (const [i, answer] of answers.entries()) {
        expect(answer.status).toBe(200);
        const sent = JSON.parse(answer.text) as { rows: { customer_id: string }[] };
        expect(sent.rows.map((r) => r.customer_id)).toEqual(requests[i]!.entities.customer_id);
        const alone = (await post(requests[i]!)).json() as { rows: unknown[] };
        expect(sent.rows).toEqual(alone.rows);
      }
    } finally {
      await second.close();
    }
  });

  test('large answers a client has not read yet (three pipelined) are sent whole while other large answers are made meanwhile', async () => {
    // Answers of about 3 MB: more than the kernel's socket buffers take from a client that reads nothing, so the rest waits in the server.
    const second = await createServer(platform, { maxEntitiesPerRequest: 8_000 });
    try {
      await second.listen({ port: 0, host: '127.0.0.1' });
      const { port } = second.server.address() as AddressInfo;
      const body = (tag: string) => JSON.stringify({ service: 'fraud_v1', entities: { customer_id: Array.from({ length: 8_000 }, (_, k) => (k % 10 === 0 ? 'c1' : `${tag}-${k}`)) } });
      const fetchLarge = async (tag: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/v1/features/online`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(tag) });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      };
      // Answers of this size first, so that the slow one is written into a buffer the next ones would take again.
      for (let i = 0; i < 3; i++) await fetchLarge(`warm${i}`);
      // A client that sends three requests at once (pipelined) and reads nothing yet: past what the kernel's buffers take, the answers wait in the server.
      const slow = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      slow.on('data', (chunk: Buffer) => chunks.push(chunk));
      slow.pause();
      const requests = ['slow0', 'slow1', 'slow2'].map(body);
      slow.write(requests.map((r, i) => `POST /v1/features/online HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${i === 2 ? 'connection: close\r\n' : ''}content-length: ${Buffer.byteLength(r)}\r\n\r\n${r}`).join(''));
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Meanwhile other large answers are made (and their buffers given back) many times.
      for (let i = 0; i < 6; i++) await fetchLarge(`other${i}`);
      const ended = new Promise((resolve) => slow.on('end', resolve));
      slow.resume();
      await ended;
      let raw = Buffer.concat(chunks);
      for (const request of requests) {
        const head = raw.indexOf('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(raw.subarray(0, head).toString())![1]);
        const sent = JSON.parse(raw.subarray(head + 4, head + 4 + length).toString()) as { rows: { customer_id: string }[] };
        raw = raw.subarray(head + 4 + length);
        expect(sent.rows.map((r) => r.customer_id)).toEqual((JSON.parse(request) as { entities: { customer_id: string[] } }).entities.customer_id);
        expect(sent.rows).toEqual(((await second.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: request })).json() as { rows: unknown[] }).rows);
      }
    } finally {
      await second.close();
    }
  });

  test('requests carry an id (x-request-id), taken from the client when it sends one', async () => {
    const res = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers['x-request-id']).toBe('abc-123');
    const fresh = await app.inject({ method: 'GET', url: '/health' });
    expect(fresh.headers['x-request-id']).toMatch(/.+/);
  });

  test('GET /health and GET /v1/registry', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ status: 'ok', registryVersion: 1, served: { stale: 0 } });
    const registry = (await app.inject({ method: 'GET', url: '/v1/registry' })).json();
    expect(registry.version).toBe(1);
    expect(registry.project.featureServices[0].name).toBe('fraud_v1');
  });
});

describe('a server whose stores fail', () => {
  test('a failing registry poll is logged and retried, never fatal; a 500 is logged with its request id', async () => {
    const customer = entity({ name: 'customer', joinKey: 'customer_id' });
    const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
    const view = featureView({ name: 'v', entity: customer, source: txns, features: { n: count() } });
    const temp = await tempPlatform(defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [view], featureServices: [featureService({ name: 's', features: [view] })] }));
    const lines: Array<Record<string, unknown>> = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const server = await createServer(temp.platform, { registryRefreshMs: 5, logLevel: 'info', logStream: { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) } });
    try {
      await temp.platform.close();
      const pollFailures = () => lines.filter((l) => l.msg === 'registry refresh failed; retrying').length;
      for (let i = 0; i < 400 && pollFailures() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(pollFailures()).toBeGreaterThanOrEqual(2);
      expect(unhandled).toEqual([]);
      expect((await server.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      const res = await server.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ entities: { customer_id: ['c1'] }, service: 's' }) });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: expect.stringContaining('server log') } });
      const logged = lines.find((l) => l.level === 50 && l.requestId === res.headers['x-request-id']);
      expect(logged).toMatchObject({ msg: 'request failed', err: { message: expect.any(String) } });
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await server.close();
      rmSync(temp.dir, { recursive: true, force: true });
    }
  });
});

test('a join key named like an Object method is looked up as an own property of "entities"', async () => {
  const thing = entity({ name: 'thing', joinKey: 'constructor' });
  const events = batchSource({ name: 'events', schema: { constructor: 'string' as const, ts: 'timestamp' }, timestamp: 'ts' });
  const view = featureView({ name: 'v', entity: thing, source: events, features: { n: count() } });
  const temp = await tempPlatform(defineProject({ name: 'p', entities: [thing], sources: [events], featureViews: [view], featureServices: [featureService({ name: 's', features: [view] })] }));
  const server = await createServer(temp.platform);
  try {
    const res = await server.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ entities: {}, service: 's' }) });
    expect(res.json()).toEqual({ error: { code: 'MISSING_ENTITY_KEY', message: expect.stringContaining('no entity key "constructor"') } });
  } finally {
    await server.close();
    await temp.dispose();
  }
});


describe('sluice serve, as a real server', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  test('the value served with asOf T equals the training dataset value for the spine row (entity, T)', async () => {
    const port = await freePort();
    child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sluice.js'), 'serve', '--port', String(port)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('serving on') && resolve());
      child!.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const keys = ['c1', 'c2', 'c3', 'zz'];
    const res = await fetch(`http://127.0.0.1:${port}/v1/features/online`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'fraud_v1', entities: { customer_id: keys } }) });
    expect(res.status).toBe(200);
    // Logs are on by default for serve: JSON lines on stderr, each request with its id.
    const requestLog = () => logs.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request completed');
    for (let i = 0; i < 200 && !requestLog(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(requestLog()).toMatchObject({ requestId: res.headers.get('x-request-id'), res: { statusCode: 200 } });
    const online = (await res.json()) as { asOf: string; features: string[]; rows: Array<Record<string, unknown>> };
    writeFileSync(join(dir, 'spine.csv'), ['customer_id,ts', ...keys.map((k) => `${k},${online.asOf}`)].join('\n'));
    expect(sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--service', 'fraud_v1', '--out', 'check.jsonl').code).toBe(0);
    const offline = readFileSync(join(dir, 'check.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    online.rows.forEach((row, i) => {
      for (const feature of online.features) expect({ key: keys[i], feature, value: offline[i]![feature] ?? null }).toEqual({ key: keys[i], feature, value: row[feature] });
    });
    expect(online.rows[1]!.txn_stats__amount_avg_7d).toBe(5);
  });

  test('--log-level (or SLUICE_LOG_LEVEL) sets the level; a bad one is a usage error', () => {
    const bad = sluice(dir, 'serve', '--log-level', 'loud');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--log-level.*fatal, error, warn, info, debug, trace, silent/);
    process.env.SLUICE_LOG_LEVEL = 'loud';
    try {
      const env = sluice(dir, 'serve');
      expect(env.code).toBe(2);
      expect(env.stderr).toContain('SLUICE_LOG_LEVEL="loud" is not a log level');
    } finally {
      delete process.env.SLUICE_LOG_LEVEL;
    }
  });
});
