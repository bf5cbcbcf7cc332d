import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { SluiceError } from '../src/errors.js';
import { createServer } from '../src/serving/http/server.js';
import { openPlatform } from '../src/platform.js';
import { MEMORY_PER_BYTE } from '../src/streaming/memory-budget.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { sluiceOk } from './support/cli.js';
import { startSluice } from './support/sluice-process.js';
import { tempPlatform } from './support/temp-platform.js';

// Issue 6 §6: push memory stays bounded. Two concurrent 27 MB bodies took `sluice serve` to about
// 1.5 GB: each source's bound counted bytes of events, not what they cost in memory, and not
// across sources. One budget of memory now holds every batch, of every source and connector,
// from admission to answer.
const T0 = Date.parse('2024-01-01T00:00:00Z');
const KiB = 1024;
const MiB = 1024 * KiB;
const account = entity({ name: 'account', joinKey: 'account_id' });
const schema = { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' } as const;
const payments = streamSource({ name: 'payments', schema, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h' });
const refunds = streamSource({ name: 'refunds', schema, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h' });
const spec = defineProject({
  name: 'p', entities: [account], sources: [payments, refunds],
  featureViews: [featureView({ name: 'pay', entity: account, source: payments, features: { n: count() } }), featureView({ name: 'ref', entity: account, source: refunds, features: { n: count() } })],
});

let sequence = 0;
const event = (at: number) => JSON.stringify({ payment_id: `e${sequence++}`, account_id: `a${sequence % 1000}`, amount: 1.5, ts: new Date(at).toISOString() });
/** A push body of new events, at least `bytes` long. */
function body(bytes: number, at: number): { text: string; events: number } {
  const events: string[] = [];
  for (let length = 13; length < bytes; length += events.at(-1)!.length + 1) events.push(event(at));
  return { text: `{"events":[${events.join(',')}]}`, events: events.length };
}

interface Answer { status: number | string; retryAfter?: string; text: string }
/** Sends a body with its Content-Length; `only` sends the headers and nothing of the body (refused bodies must be answered unread). */
function send(port: number, source: string, text: string, only?: 'headers'): Promise<Answer> {
  return new Promise((resolve) => {
    const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `/v1/push/${source}`, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } }, (res) => {
      let answer = '';
      res.on('data', (c: Buffer) => (answer += c.toString()));
      res.on('end', () => {
        // A body refused unread: the rest is not sent.
        if (only === 'headers') request.destroy();
        resolve({ status: res.statusCode!, text: answer, ...(res.headers['retry-after'] ? { retryAfter: res.headers['retry-after'] as string } : {}) });
      });
    });
    request.on('error', (error) => resolve({ status: error.message, text: '' }));
    if (only === 'headers') request.flushHeaders();
    else request.end(text);
  });
}

describe('one memory budget for every batch of events', () => {
  let env: Awaited<ReturnType<typeof tempPlatform>>;
  let runtime: StreamRuntime;
  // Room for a 10 KiB body of the plain path, not for two.
  const budget = 15 * KiB * MEMORY_PER_BYTE.plain;
  beforeEach(async () => {
    env = await tempPlatform(spec, T0 + 10 * 3_600_000);
    runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000, memoryBudget: budget });
  });
  afterEach(async () => {
    await runtime.close();
    await env.dispose();
  });

  test('a push body held for one source refuses a connector batch of another (OVERLOADED) until it is answered; the budget is free once each batch is answered', async () => {
    const processor = runtime.processor;
    const held = processor.reserve('payments', 10 * KiB);
    expect(processor.memory()).toEqual({ limit: budget, bytes: 10 * KiB * MEMORY_PER_BYTE.plain, batches: 1 });
    const texts = body(8 * KiB, T0 + 9 * 3_600_000).text.slice(11, -2).split(/,(?=\{)/);
    let refused: unknown;
    try {
      await processor.append('refunds', { texts }, 'nats');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(SluiceError);
    expect(refused).toMatchObject({ code: 'OVERLOADED', message: expect.stringMatching(/memory budget for batches of events .* is held by 1 batch\(es\).*source "refunds"/) });
    held.release();
    expect(processor.memory().bytes).toBe(0);
    expect(await processor.append('refunds', { texts }, 'nats')).toMatchObject({ accepted: texts.length });
    await processor.drained();
    expect(processor.memory()).toEqual({ limit: budget, bytes: 0, batches: 0 });
    expect(runtime.status().find((s) => s.source === 'refunds')!.offset).toBe(1);
  });

  test('over HTTP: a body past the free budget is answered 503 with Retry-After before it is read, one past the whole budget 413; neither appends anything', async () => {
    const app = await createServer(env.platform, { stream: runtime.processor });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    try {
      const held = runtime.processor.reserve('refunds', 10 * KiB);
      const busy = await send(port, 'payments', body(8 * KiB, T0 + 9 * 3_600_000).text, 'headers');
      expect(busy).toMatchObject({ status: 503, retryAfter: '1' });
      expect(JSON.parse(busy.text).error.code).toBe('OVERLOADED');
      held.release();
      const huge = await send(port, 'payments', body(16 * KiB, T0 + 9 * 3_600_000).text, 'headers');
      expect(huge.status).toBe(413);
      expect(JSON.parse(huge.text).error).toMatchObject({ code: 'REQUEST_TOO_LARGE', message: expect.stringContaining('--push-memory') });
      expect(huge.retryAfter).toBeUndefined();
      expect(runtime.status().map((s) => s.offset)).toEqual([0, 0]);
      const fits = body(8 * KiB, T0 + 9 * 3_600_000);
      expect(await send(port, 'payments', fits.text)).toMatchObject({ status: 200, text: expect.stringContaining(`"accepted":${fits.events}`) });
      await runtime.processor.drained();
      expect(runtime.processor.memory().bytes).toBe(0);
    } finally {
      await app.close();
    }
  });
});

describe('sluice serve under concurrent large push bodies', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-push-memory-'));
    writeFileSync(join(dir, 'sluice.config.ts'), `import { defineProject, entity, streamSource, featureView, count } from 'sluice';
const account = entity({ name: 'account', joinKey: 'account_id' });
const schema = { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' } as const;
const payments = streamSource({ name: 'payments', schema, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h' });
const refunds = streamSource({ name: 'refunds', schema, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h' });
export default defineProject({ name: 'p', entities: [account], sources: [payments, refunds],
  featureViews: [featureView({ name: 'pay', entity: account, source: payments, features: { n: count() } }), featureView({ name: 'ref', entity: account, source: refunds, features: { n: count() } })] });
`);
    sluiceOk(dir, 'apply');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('four 11 MiB bodies over two sources and 100 small ones at once: the peak resident memory stays under 512 MiB, every refusal is 503 with Retry-After, and the log holds exactly the events answered accepted', async () => {
    const server = await startSluice(dir, ['serve', '--host', '127.0.0.1', '--port', '0', '--no-scheduler', '--log-level', 'warn']);
    const pushed: { source: string; events: number; answer: Answer }[] = [];
    try {
      const port = Number(/:(\d+)/.exec((JSON.parse(server.stdout().split('\n')[0]!) as { listening: string }).listening)![1]);
      const now = Date.now();
      const large = Array.from({ length: 4 }, (_, i) => ({ source: i % 2 ? 'refunds' : 'payments', ...body(11 * MiB, now - 60_000) }));
      const small = Array.from({ length: 100 }, (_, i) => ({ source: i % 2 ? 'refunds' : 'payments', ...body(16 * KiB, now - 60_000) }));
      const answers = await Promise.all([...large, ...small].map((b) => send(port, b.source, b.text)));
      answers.forEach((answer, i) => pushed.push({ source: [...large, ...small][i]!.source, events: [...large, ...small][i]!.events, answer }));
      // Before the budget, each source's 64 MiB bound let all four in at once: about 700 MiB.
      const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) * KiB;
      expect(peak).toBeLessThan(512 * MiB);
    } finally {
      await server.stop();
    }
    expect(pushed.filter((p) => p.answer.status === 200).length).toBeGreaterThan(0);
    expect(pushed.filter((p) => p.answer.status === 503).length).toBeGreaterThan(0);
    for (const { answer } of pushed) {
      if (answer.status === 200) continue;
      expect(answer).toMatchObject({ status: 503, retryAfter: '1' });
      expect(JSON.parse(answer.text).error.code).toBe('OVERLOADED');
    }
    // Nothing half-accepted: the log holds the events of the accepted bodies, each whole, and nothing of the refused ones.
    const platform = openPlatform({ projectDir: dir });
    try {
      const log = await platform.log();
      for (const source of ['payments', 'refunds']) {
        const answered = pushed.filter((p) => p.source === source && p.answer.status === 200);
        for (const p of answered) expect(JSON.parse(p.answer.text)).toEqual({ accepted: p.events, duplicates: 0, rejected: [] });
        const logged = log.read(source, 0, 1_000_000).reduce((n, entry) => n + entry.events.length, 0);
        expect({ source, logged }).toEqual({ source, logged: answered.reduce((n, p) => n + p.events, 0) });
      }
    } finally {
      await platform.close();
    }
  });
});
