import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { count, defineProject, entity, featureService, featureView, last, streamSource } from '../../src/definitions/index.js';
import { createServer } from '../../src/serving/http/server.js';
import { startStreamRuntime, type StreamRuntime } from '../../src/streaming/stream-runtime.js';
import { tempPlatform } from '../support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h' });
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count(), last_channel: last('channel') } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats], featureServices: [featureService({ name: 'scoring', features: [stats] })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
let runtime: StreamRuntime;
let app: FastifyInstance;
beforeAll(async () => {
  env = await tempPlatform(spec, T0 + 10 * 3_600_000);
  runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
  app = await createServer(env.platform, { stream: runtime.processor });
});
afterAll(async () => {
  await app.close();
  await runtime.close();
  await env.dispose();
});

const JSON_TYPE = { 'content-type': 'application/json' };
const features = (payload: string | Buffer, headers: Record<string, string> = JSON_TYPE) => app.inject({ method: 'POST', url: '/v1/features/online', headers, payload });
const push = (payload: string | Buffer, headers: Record<string, string> = JSON_TYPE) => app.inject({ method: 'POST', url: '/v1/push/payments', headers, payload });

const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const head = async () => (await env.platform.log()).head('payments');
/** Events and rejections the log holds after `offset` (a refused body may share a group commit's entry, holding none of its events). */
const loggedAfter = async (offset: number) => (await env.platform.log()).read('payments', offset, 1_000).reduce((n, e) => n + e.events.length + e.rejected.length, 0);
const event = (id: string, accountId: string, channel: string) => ({ payment_id: id, account_id: accountId, amount: 1, channel, ts: '2024-01-01T09:00:00Z' });
const answer = async (keys: string[]) => (await features(JSON.stringify({ entities: { account_id: keys }, service: 'scoring' }))).json<{ rows: Record<string, unknown>[] }>().rows;

test('malformed feature requests get a clear 4xx JSON error, never a 500 or a hang', async () => {
  const cases: Array<[string, Promise<{ statusCode: number; json(): unknown }>, number, RegExp]> = [
    ['bad JSON', features('{"entities": {"account_id": ["a"]'), 400, /not valid JSON/],
    ['prototype poisoning', features('{"__proto__": {"service": "x"}, "entities": {"account_id": ["a"]}, "service": "scoring"}'), 400, /JSON/],
    ['nested prototype poisoning', features('{"entities": {"__proto__": ["a"], "account_id": ["a"]}, "service": "scoring"}'), 400, /JSON/],
    ['invalid UTF-8', features(Buffer.concat([Buffer.from('{"entities": {"account_id": ["'), Buffer.from([0xff, 0xfe]), Buffer.from('"]}, "service": "scoring"}')])), 400, /not valid UTF-8 \(an invalid byte sequence at byte offset 30\); send JSON encoded as UTF-8/],
    ['no content type', features('{"entities": {"account_id": ["a"]}, "service": "scoring"}', {}), 415, /Unsupported Media Type/],
    ['a form', features('account_id=a', { 'content-type': 'application/x-www-form-urlencoded' }), 415, /Unsupported Media Type/],
    ['text/plain', features('{"entities": {"account_id": ["a"]}}', { 'content-type': 'text/plain' }), 400, /the body must be a JSON object/],
    ['nesting 100,000 deep', features(`{"entities": {"account_id": ${deep(100_000)}}, "service": "scoring"}`), 400, /entities.account_id must be an array of strings or integers/],
    ['100,000 join keys', features(JSON.stringify({ entities: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, ['a']])), service: 'scoring' })), 400, /no entity key "account_id" \(got k0, k1, k2, k3, k4, k5, k6, k7, k8, k9 and 99990 more\)/],
    ['300,000 feature names', features(JSON.stringify({ entities: { account_id: ['a'] }, features: Array.from({ length: 300_000 }, (_, i) => `stats:f${i % 3}`) })), 404, /feature "stats:f0": view "stats" has no feature "f0"/],
    ['1,001 entities', features(JSON.stringify({ entities: { account_id: Array.from({ length: 1001 }, (_, i) => `k${i}`) }, service: 'scoring' })), 413, /1001 entities/],
    ['9 MiB', features(JSON.stringify({ entities: { account_id: ['a'] }, service: 'scoring', pad: 'x'.repeat(9 * 1024 * 1024) })), 413, /larger than 8 MiB; send fewer entities per request \(at most 1000\)/],
  ];
  for (const [name, sent, status, message] of cases) {
    const res = await sent;
    expect({ name, status: res.statusCode }).toEqual({ name, status });
    expect(res.json()).toEqual({ error: { code: expect.any(String), message: expect.stringMatching(message) } });
    expect(JSON.stringify(res.json()).length).toBeLessThan(2000);
  }
}, 120_000);

test('hostile pushes are refused whole (4xx, nothing appended) or handled as data; the server keeps serving', async () => {
  const before = await head();
  const refused: Array<[string, Promise<{ statusCode: number; json(): unknown }>, number, RegExp]> = [
    ['invalid UTF-8', push(Buffer.concat([Buffer.from(`{"events": [${JSON.stringify(event('ok1', 'a', 'web'))}, {"payment_id": "u1", "account_id": "a", "amount": 1, "channel": "`), Buffer.from([0xc3, 0x28]), Buffer.from('", "ts": "2024-01-01T09:00:00Z"}]}')])), 400, /not valid UTF-8 \(an invalid byte sequence at byte offset \d+\)/],
    ['text/plain (its parser would skip the UTF-8 check)', push(JSON.stringify({ events: [event('ok2', 'a', 'web')] }), { 'content-type': 'text/plain' }), 415, /Unsupported Media Type/],
    ['no content type', push(JSON.stringify({ events: [event('ok3', 'a', 'web')] }), {}), 415, /Unsupported Media Type/],
    ['33 MiB', push(`{"events": [${JSON.stringify(event('ok4', 'a', 'web'))}], "pad": "${'x'.repeat(33 * 1024 * 1024)}"}`), 413, /larger than 32 MiB; push fewer events per request/],
    ['bad JSON', push(`{"events": [${JSON.stringify(event('ok5', 'a', 'web'))}, {`), 400, /must be a JSON object|JSON/],
    ['not an object', push('42'), 400, /the body must be a JSON object \{"events": \[\{\.\.\.\}, \.\.\.\]\}/],
    ['events not a list', push('{"events": {"0": {}}}'), 400, /the body must be a JSON object/],
  ];
  for (const [name, sent, status, message] of refused) {
    const res = await sent;
    expect({ name, status: res.statusCode }).toEqual({ name, status });
    expect(res.json()).toEqual({ error: { code: expect.any(String), message: expect.stringMatching(message) } });
  }
  expect(await loggedAfter(before)).toBe(0);

  // Nesting and hostile strings are data: a nested value where a scalar goes is that event's rejection; quotes, SQL and NUL are kept exactly.
  const nested = await push(`{"events": [${deep(100_000)}, {"payment_id": "d1", "account_id": "a", "amount": 1, "channel": ${deep(2_000)}, "ts": "2024-01-01T09:00:00Z"}]}`);
  expect(nested.statusCode).toBe(200);
  expect(nested.json()).toEqual({ accepted: 0, duplicates: 0, rejected: [{ index: 0, reason: 'not a JSON object' }, { index: 1, reason: 'column "channel": nested JSON value where a scalar is expected' }] });
  const hostile = ["a'); DROP TABLE payments; --", 'a"; DROP TABLE "payments', 'a\u0000', 'a', '2:a13:b', '../../etc/passwd', '\u202eevil'];
  const pushed = await push(JSON.stringify({ events: hostile.map((key, i) => event(`h${i}`, key, key)) }));
  expect(pushed.json()).toEqual({ accepted: hostile.length, duplicates: 0, rejected: [] });
  const rows = await answer(hostile);
  expect(rows.map((r) => [r.account_id, r.stats__n, r.stats__last_channel])).toEqual(hostile.map((key) => [key, 1, key]));

  expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
}, 120_000);

test('a client request id is echoed only when it is a plain token; anything else gets a new id, not a 500', async () => {
  const plain = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } });
  expect(plain.headers['x-request-id']).toBe('abc-123');
  for (const forged of ['a\u00ff\u0001b', 'x'.repeat(10_000), 'a b']) {
    const res = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': forged } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  }
});
