import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { createServer } from '../src/serving/http/server.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

// Slow or stuck push clients (review rev4 finding 5): a body is held to what has arrived, and
// a body that stops arriving is timed out, so they cannot deny service to the others.
const T0 = Date.parse('2024-01-01T00:00:00Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h' });
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats] });
const MiB = 1024 * 1024;

let env: Awaited<ReturnType<typeof tempPlatform>>;
let runtime: StreamRuntime;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 10 * 3_600_000);
  runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000, maxPendingBytes: 1 * MiB });
});
afterEach(async () => {
  await runtime.close();
  await env.dispose();
});

const event = (id: string) => JSON.stringify({ payment_id: id, account_id: 'a', amount: 1, ts: new Date(T0 + 9 * 3_600_000).toISOString() });

async function serve(options: { pushBodyIdleMs?: number; pushBodyTimeoutMs?: number } = {}) {
  const metrics = new SluiceMetrics();
  const app = await createServer(env.platform, { stream: runtime.processor, metrics, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  /** A push whose body is written by the caller: `length` declares a Content-Length, else it is chunked. */
  const open = (length?: number) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(length === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }) };
    const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/push/payments', headers });
    const answer = new Promise<{ status: number; text: string; retryAfter?: string } | { closed: string }>((resolve) => {
      request.on('response', (res) => { let text = ''; res.on('data', (c: Buffer) => (text += c.toString())); res.on('end', () => resolve({ status: res.statusCode!, text, retryAfter: res.headers['retry-after'] as string | undefined })); });
      request.on('error', (error) => resolve({ closed: error.message }));
    });
    request.flushHeaders();
    return { request, answer };
  };
  const push = async (id: string) => {
    const small = open(Buffer.byteLength(`{"events": [${event(id)}]}`));
    small.request.end(`{"events": [${event(id)}]}`);
    return small.answer;
  };
  return { app, metrics, open, push };
}

const statusOf = (answer: Awaited<ReturnType<Awaited<ReturnType<typeof serve>>['open']>['answer']>) => ('status' in answer ? answer.status : answer.closed);
const receiving = () => runtime.status()[0]!.receivingBytes;

describe('push admission of slow and stuck bodies', () => {
  test('chunked bodies that stall hold only the bytes they sent: other pushes get through; once idle past the timeout they are answered 408 and nothing of them is appended', async () => {
    const { app, metrics, open, push } = await serve({ pushBodyIdleMs: 400 });
    try {
      const stuck = [open(), open()];
      for (const s of stuck) s.request.write('{"events": [');
      const small = await push('s1');
      expect(statusOf(small)).toBe(200);
      const answers = await Promise.all(stuck.map((s) => s.answer));
      for (const a of answers) {
        expect(statusOf(a)).toBe(408);
        expect(JSON.parse((a as { text: string }).text).error).toMatchObject({ code: 'REQUEST_TIMED_OUT', message: expect.stringMatching(/no byte of the push body for source "payments" arrived for 400 ms/) });
      }
      for (const s of stuck) s.request.destroy();
      expect(receiving()).toBe(0);
      expect(runtime.status()[0]!.offset).toBe(1);
      expect(await metrics.render()).toMatch(/sluice_push_refused_total\{source="payments",reason="timed_out"\} 2/);
    } finally {
      await app.close();
    }
  });

  test('a declared Content-Length that trickles is timed out as a whole, freeing its reservation', async () => {
    const { app, open, push } = await serve({ pushBodyIdleMs: 10_000, pushBodyTimeoutMs: 600 });
    try {
      const trickle = open(MiB);
      trickle.request.write('{"events": [');
      const drip = setInterval(() => trickle.request.write(' '), 100);
      // The declared MiB is reserved: another body does not fit meanwhile.
      expect(statusOf(await push('t0'))).toBe(503);
      const answer = await trickle.answer;
      clearInterval(drip);
      trickle.request.destroy();
      expect(statusOf(answer)).toBe(408);
      expect(JSON.parse((answer as { text: string }).text).error.message).toMatch(/the push body for source "payments" was not received within 600 ms/);
      expect(receiving()).toBe(0);
      expect(statusOf(await push('t1'))).toBe(200);
    } finally {
      await app.close();
    }
  });

  test('a chunked body is held to the bound as its bytes arrive: past it, 503 naming what waits and what is being received, counted by reason', async () => {
    const { app, metrics, open } = await serve();
    try {
      const first = open(MiB - 100);
      const second = open();
      second.request.write(`{"events": [${event('c1')}, `);
      await new Promise((r) => setTimeout(r, 100));
      second.request.write(' '.repeat(200));
      const refused = await second.answer;
      second.request.destroy();
      expect(statusOf(refused)).toBe(503);
      expect((refused as { retryAfter?: string }).retryAfter).toBe('1');
      expect(JSON.parse((refused as { text: string }).text).error.message).toMatch(/source "payments" has 0 bytes of events waiting and \d+ bytes being received in 2 bodies/);
      first.request.destroy();
      expect(await metrics.render()).toMatch(/sluice_push_refused_total\{source="payments",reason="overloaded"\} 1/);
    } finally {
      await app.close();
    }
  });
});
