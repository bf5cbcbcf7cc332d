import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { createServer } from '../src/serving/http/server.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { AdapterError } from '../src/errors.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import type { StreamProcessor } from '../src/streaming/stream-processor.js';
import { sluice } from './support/cli.js';
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

async function serve(options: { pushBodyIdleMs?: number; pushBodyTimeoutMs?: number; pushBodyMinBytesPerSecond?: number; stream?: StreamProcessor } = {}) {
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
    const { app, open, push } = await serve({ pushBodyIdleMs: 10_000, pushBodyTimeoutMs: 600, pushBodyMinBytesPerSecond: 16 * MiB });
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

  // Review rev6 finding 2: a steady body past the floor is not a trickle when it keeps the minimum rate.
  const steadily = async (body: string, write: (text: string) => void, end: () => void) => {
    const piece = 2_000;
    for (let at = 0; at < body.length; at += piece) {
      write(body.slice(at, at + piece));
      await new Promise((r) => setTimeout(r, 70));
    }
    end();
  };
  const paddedBody = (id: string, bytes: number) => {
    const head = `{"events": [${event(id)}`;
    return `${head}${' '.repeat(bytes - head.length - 2)}]}`;
  };

  test('a body sent steadily above the minimum rate is accepted though it takes longer than the floor, declared or chunked', async () => {
    // 40 kB at about 28 kB/s: some 1.4 s, past the 600 ms floor; the minimum rate 10 kB/s gives a declared 40 kB 4 s.
    const { app, metrics, open } = await serve({ pushBodyIdleMs: 10_000, pushBodyTimeoutMs: 600, pushBodyMinBytesPerSecond: 10_000 });
    try {
      const body = paddedBody('d1', 40_000);
      const declared = open(Buffer.byteLength(body));
      await steadily(body, (t) => declared.request.write(t), () => declared.request.end());
      expect(statusOf(await declared.answer)).toBe(200);
      const chunked = open();
      const second = paddedBody('c1', 40_000);
      await steadily(second, (t) => chunked.request.write(t), () => chunked.request.end());
      expect(statusOf(await chunked.answer)).toBe(200);
      expect(runtime.status()[0]!.offset).toBe(2);
      expect(await metrics.render()).not.toMatch(/sluice_push_refused_total\{/);
    } finally {
      await app.close();
    }
  });

  test('a chunked body sent below the minimum rate is answered 408 once past the floor, naming the rate', async () => {
    const { app, open, push } = await serve({ pushBodyIdleMs: 10_000, pushBodyTimeoutMs: 600, pushBodyMinBytesPerSecond: 10_000 });
    try {
      const trickle = open();
      trickle.request.write('{"events": [');
      // About 1 kB/s, a tenth of the minimum.
      const drip = setInterval(() => trickle.request.write(' '.repeat(100)), 100);
      const answer = await trickle.answer;
      clearInterval(drip);
      trickle.request.destroy();
      expect(statusOf(answer)).toBe(408);
      expect(JSON.parse((answer as { text: string }).text).error.message).toMatch(/was not received within \d+ ms \(\d+ bytes received; a body has the larger of 600 ms and its size at 10000 bytes\/s\)/);
      expect(receiving()).toBe(0);
      expect(statusOf(await push('t1'))).toBe(200);
    } finally {
      await app.close();
    }
  });

  test('sluice serve --push-min-rate takes KiB/s from 1, and --push-body-timeout a duration', () => {
    const rate = sluice(env.dir, 'serve', '--push-min-rate', '0');
    expect(rate.code).toBe(2);
    expect(rate.stderr).toContain('expected an integer from 1 to 1048576');
    const timeout = sluice(env.dir, 'serve', '--push-body-timeout', 'soon');
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('expected a duration such as 90s');
  });

  // Review rev6 finding 6: the reason is the error's, not its status's.
  test('a push refused 503 for another cause than the bound is not counted as overloaded', async () => {
    const failing = Object.create(runtime.processor) as StreamProcessor;
    failing.append = async () => {
      throw new AdapterError('ADAPTER_FAILED', 'the event log cannot be written (disk full)');
    };
    const { app, metrics, open, push } = await serve({ stream: failing });
    try {
      expect(statusOf(await push('f1'))).toBe(503);
      expect(await metrics.render()).not.toMatch(/reason="overloaded"/);
      // A body over the limit is still counted as too large.
      const large = open(33 * MiB);
      const refused = await large.answer;
      large.request.destroy();
      expect(statusOf(refused)).toBe(413);
      expect(await metrics.render()).toMatch(/sluice_push_refused_total\{source="payments",reason="too_large"\} 1/);
    } finally {
      await app.close();
    }
  });
});
