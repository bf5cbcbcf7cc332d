import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { createServer } from '../src/serving/http/server.js';
import { streamPlatformEach } from './support/stream-platform.js';

// One poison value must not take down a batch, a group of requests or a path (review rev10).
const T0 = Date.parse('2024-01-01T00:00:00Z');
const HOUR = 3_600_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h',
});
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats] });

const each = streamPlatformEach(spec, T0 + 10 * HOUR);

const event = (id: string, account = 'a') => ({ payment_id: id, account_id: account, amount: 1, ts: new Date(T0 + 590 * 60_000).toISOString() });
const LIMIT = /the event id is \d+ bytes; event ids may be at most 1024 UTF-8 bytes/;

describe('an event id too long for the log', () => {
  test('pushed, it is dead-lettered naming the limit and the other events of its body are accepted', async () => {
    const { env, runtime } = each.current;
    const app = await createServer(env.platform, { stream: runtime.processor });
    try {
      for (const length of [1025, 1970, 5000]) {
        const payload = JSON.stringify({ events: [event('I'.repeat(length)), event(`good${length}`)] });
        const res = await app.inject({ method: 'POST', url: '/v1/push/payments', payload, headers: { 'content-type': 'application/json' } });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [{ index: 0, reason: expect.stringMatching(LIMIT) }] });
      }
      // One long id among texts handed in by a connector: the same rule.
      const texts = [JSON.stringify(event('Q'.repeat(2500))), JSON.stringify(event('q1'))];
      expect(await runtime.processor.append('payments', { texts }, 'nats')).toEqual({ accepted: 1, duplicates: 0, rejected: [{ index: 0, reason: expect.stringMatching(LIMIT) }] });
      await runtime.commitNow();
      const letters = await env.platform.metadata.listDeadLetters({ source: 'payments' });
      expect(letters.map((l) => l.reason)).toEqual(Array.from({ length: 4 }, () => expect.stringMatching(LIMIT)));
    } finally {
      await app.close();
    }
  });

  test('pushed at once with other requests, only its own event is refused: every other request is answered 200', async () => {
    const { env, runtime } = each.current;
    const app = await createServer(env.platform, { stream: runtime.processor });
    try {
      const post = (body: unknown) => app.inject({ method: 'POST', url: '/v1/push/payments', payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      const innocent = Array.from({ length: 30 }, (_, i) => post({ events: [event(`g${i}`, 'grp')] }));
      const poison = post({ events: [event('L'.repeat(3000), 'grp')] });
      const answers = await Promise.all([...innocent, poison]);
      expect(answers.map((a) => a.statusCode)).toEqual(Array.from({ length: 31 }, () => 200));
      expect(answers.slice(0, 30).every((a) => a.json().accepted === 1)).toBe(true);
      expect(answers[30]!.json().rejected).toEqual([{ index: 0, reason: expect.stringMatching(LIMIT) }]);
    } finally {
      await app.close();
    }
  });

  test('in a file, it is dead-lettered naming the limit and the rest of the file is ingested', async () => {
    const { env } = each.current;
    const file = join(env.dir, 'long-id.csv');
    writeFileSync(file, `payment_id,account_id,amount,ts\n${'x'.repeat(2000)},a,1,2024-01-01T09:00:00Z\nf1,a,1,2024-01-01T09:00:00Z\n`);
    expect(await ingestFile(env.platform, env.project, 'payments', file)).toMatchObject({ accepted: 1, rejected: 1 });
    const [letter] = await env.platform.metadata.listDeadLetters({ source: 'payments' });
    expect(letter!.reason).toMatch(LIMIT);
  });
});

test('serving: an entity key longer than any store holds is NOT_FOUND; the other entities of the request are answered', async () => {
  const { env, runtime } = each.current;
  await runtime.processor.append('payments', { texts: [JSON.stringify(event('s1'))] }, 'push');
  const app = await createServer(env.platform, { stream: runtime.processor });
  try {
    const keys = ['a', 'K'.repeat(3_000), 'K'.repeat(5_000), 'é'.repeat(100_000), 'a'];
    const res = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { features: ['stats:n'], entities: { account_id: keys } } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.rows.map((r: Record<string, unknown>) => r.stats__n)).toEqual([1, 0, 0, 0, 1]);
    expect(body.metadata.map((m: { status: string[] }) => m.status[0])).toEqual(['PRESENT', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'PRESENT']);
  } finally {
    await app.close();
  }
});

describe('push bodies that are not JSON', () => {
  test('NaN, Infinity and trailing commas are refused 400 as invalid JSON, nothing of the body taken; a compressed body is refused 415', async () => {
    const { env, runtime } = each.current;
    const app = await createServer(env.platform, { stream: runtime.processor });
    try {
      const good = JSON.stringify(event('ok1'));
      const bodies = [
        `{"events": [${good.replace('"amount":1', '"amount":NaN')}]}`,
        `{"events": [${good.replace('"amount":1', '"amount":-Infinity')}]}`,
        `{"events": [${good.replace('}', ',}')}]}`,
        `{"events": [${good},]}`,
        `{"events": [${good}],}`,
      ];
      for (const payload of bodies) {
        const res = await app.inject({ method: 'POST', url: '/v1/push/payments', payload, headers: { 'content-type': 'application/json' } });
        expect(res.statusCode, payload).toBe(400);
        expect(res.json().error.message, payload).toMatch(/not valid JSON/);
      }
      const { gzipSync } = await import('node:zlib');
      const gzipped = await app.inject({ method: 'POST', url: '/v1/push/payments', payload: gzipSync(`{"events": [${good}]}`), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
      expect(gzipped.statusCode).toBe(415);
      expect(gzipped.json().error.message).toMatch(/Content-Encoding "gzip"/);
      expect(await env.platform.metadata.countDeadLetters('payments')).toBe(0);
    } finally {
      await app.close();
    }
  });
});
