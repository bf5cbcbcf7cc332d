import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, sqlTransform, streamSource } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { requestErasure } from '../src/compliance/erasure/request-erasure.js';
import { reportErasureStatus } from '../src/compliance/erasure/erasure-status.js';
import { erasureHash } from '../src/compliance/erasure/erasure-hash.js';
import { projectSecret } from '../src/compliance/project-secret.js';
import type { Principal } from '../src/compliance/principal.js';
import { tempPlatform } from './support/temp-platform.js';

const KEY = 'cust-ZQX-4242-erase-me';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', allowedLateness: '30d' });
// No customer_id column: its rows name a customer only once the transform derives the key.
const signups = batchSource({ name: 'signups', schema: { signup_id: 'string', referred_by: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const referrals = sqlTransform({ name: 'referrals', inputs: [signups], sql: 'SELECT signup_id, referred_by AS customer_id, ts FROM signups', timestamp: 'ts', schema: { signup_id: 'string', customer_id: 'string', ts: 'timestamp' } });
const spend = featureView({ name: 'spend', entity: customer, source: txns, features: { n: count() } });
const paid = featureView({ name: 'paid', entity: customer, source: payments, features: { n: count() } });
const spec = defineProject({ name: 'erasure', entities: [customer], sources: [txns, payments, signups], featureViews: [spend, paid], transforms: [referrals] });

const NOW = Date.parse('2024-03-01T00:00:00Z');
const operator: Principal = { name: 'cli:dpo', roles: [], origin: 'local' };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  const { request, subject } = await requestErasure(t.platform, t.project, { entity: 'customer', key: [KEY], reason: 'customer asked', principal: operator });
  return { ...t, request, subject };
}

test('a request blocks the subject at once and stores only its keyed hash, with a one-month deadline; asking again returns the pending request', async () => {
  const { platform, project, request, subject } = await setup();
  expect(subject.hash).toBe(erasureHash(projectSecret(platform.dataDir), 'customer', KEY));
  expect(request).toMatchObject({ id: 'erase-1', entity: 'customer', subject: subject.hash, status: 'pending', receivedAt: NOW, deadlineAt: Date.parse('2024-04-01T00:00:00Z') });
  expect(JSON.stringify(request)).not.toContain(KEY);
  const again = await requestErasure(platform, project, { entity: 'customer', key: [KEY], principal: operator });
  expect(again).toMatchObject({ created: false, request: { id: 'erase-1' } });
  expect((await platform.metadata.erasure.blockList()).hashes).toEqual([subject.hash]);
  const audit = await platform.metadata.audit.list();
  expect(audit.map((r) => [r.action, r.outcome, r.actor])).toEqual([['erase.requested', 'succeeded', 'cli:dpo']]);
  expect(JSON.stringify(audit)).not.toContain(KEY);
});

test('a refused request names the problem and the fix, and is audited', async () => {
  const { platform, project } = await setup();
  await expect(requestErasure(platform, project, { entity: 'custmer', key: ['x'], principal: operator })).rejects.toThrow('entity "custmer" is not in the registry (did you mean "customer"?)');
  await expect(requestErasure(platform, project, { entity: 'customer', key: ['a', 'b'], principal: operator })).rejects.toThrow('entity "customer" has the join key customer_id: give one non-empty key, got 2');
  const failed = (await platform.metadata.audit.list()).filter((r) => r.outcome === 'failed');
  expect(failed.map((r) => [r.action, r.target])).toEqual([['erase.requested', 'entity:custmer'], ['erase.requested', 'entity:customer']]);
});

test('a reason that quotes the subject\'s key is refused: the append-only audit trail must never hold the key', async () => {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  await expect(requestErasure(t.platform, t.project, { entity: 'customer', key: [KEY], reason: `customer ${KEY} asked by mail`, principal: operator }))
    .rejects.toThrow('the reason quotes the subject\'s key; the audit trail is append-only and would keep it forever: describe the request without the key (for example a ticket number)');
  expect((await t.platform.metadata.erasure.blockList()).hashes).toEqual([]);
  const audit = await t.platform.metadata.audit.list();
  expect(audit.map((r) => [r.action, r.outcome])).toEqual([['erase.requested', 'failed']]);
  expect(readFileSync(join(t.platform.dataDir, 'metadata.db')).includes(KEY)).toBe(false);
});

test('file ingest rejects the erased key as "erased"; its dead letter keeps the keyed hash, not the row', async () => {
  const { platform, project, dir, subject } = await setup();
  const file = join(dir, 'txns.csv');
  writeFileSync(file, `txn_id,customer_id,amount,ts\nt1,c1,10,2024-02-01T00:00:00Z\nt2,${KEY},99.5,2024-02-01T00:00:00Z\nt3,${KEY},not-a-number,2024-02-02T00:00:00Z\n`);
  const result = await ingestFile(platform, project, 'txns', file);
  expect(result).toMatchObject({ accepted: 1, rejected: 2 });
  const letters = await platform.metadata.listDeadLetters({ source: 'txns' });
  // Each event keeps its own identity (a keyed hash of its text), never the text.
  expect(letters.map((l) => [l.line, l.reason, JSON.parse(l.raw)])).toEqual([3, 4].map((line) => [line, 'erased', { erased: subject.hash, event: expect.stringMatching(/^[0-9a-f]{64}$/) }]));
  expect(letters[0]!.raw).not.toBe(letters[1]!.raw);
  expect(JSON.stringify(letters)).not.toContain(KEY);
});

test('pushed and streamed events of the erased key are rejected as "erased", in the log and in the dead letters without their text', async () => {
  const { platform, project, subject } = await setup();
  const runtime = await startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000 });
  try {
    const event = (id: string, key: string) => ({ payment_id: id, customer_id: key, amount: 1, ts: '2024-02-28T00:00:00Z' });
    const pushed = await runtime.processor.append('payments', { body: JSON.stringify({ events: [event('p1', 'c1'), event('p2', KEY)] }) }, 'push');
    expect(pushed).toEqual({ accepted: 1, duplicates: 0, rejected: [{ index: 1, reason: 'erased' }] });
    const streamed = await runtime.processor.append('payments', { texts: [event('p3', KEY), event('p4', 'c2')].map((e) => JSON.stringify(e)) }, 'nats');
    expect(streamed.rejected).toEqual([{ index: 0, reason: 'erased' }]);
    const log = await platform.log();
    expect(JSON.stringify(log.read('payments', 0, 10))).not.toContain(KEY);
    await runtime.commitNow();
    const letters = await platform.metadata.listDeadLetters({ source: 'payments' });
    expect(letters.map((l) => [l.reason, JSON.parse(l.raw)])).toEqual([0, 1].map(() => ['erased', { erased: subject.hash, event: expect.stringMatching(/^[0-9a-f]{64}$/) }]));
    expect(JSON.stringify(letters)).not.toContain(KEY);
  } finally {
    await runtime.close();
  }
});

test('a transform result row that derives the erased key is not written', async () => {
  const { platform, project, dir } = await setup();
  const file = join(dir, 'signups.csv');
  writeFileSync(file, `signup_id,referred_by,ts\ns1,c1,2024-02-01T00:00:00Z\ns2,${KEY},2024-02-01T00:00:00Z\n`);
  await ingestFile(platform, project, 'signups', file);
  const result = await runTransform(platform, project, 'referrals');
  expect(result.rows).toBe(1);
});

test('--status: a request open past its deadline is overdue and fires erasure_overdue until it completes', async () => {
  const { platform, clock, request } = await setup();
  expect(await reportErasureStatus(platform)).toMatchObject({ pending: 1, completed: 0, overdue: 0 });
  clock.now = request.deadlineAt + 1;
  const late = await reportErasureStatus(platform);
  expect(late).toMatchObject({ pending: 1, overdue: 1, requests: [{ id: 'erase-1', overdue: true }] });
  expect((await platform.metadata.health.list({ firing: true, kind: 'erasure_overdue' })).map((c) => c.subject)).toEqual(['erasure:erase-1']);
  await platform.metadata.erasure.finish('erase-1', { status: 'completed', at: clock.now, certificate: {} });
  expect(await reportErasureStatus(platform)).toMatchObject({ pending: 0, completed: 1, overdue: 0, requests: [{ overdue: true }] });
  expect(await platform.metadata.health.list({ firing: true, kind: 'erasure_overdue' })).toEqual([]);
});

test("each erased event of a source with an eventId is its own dead letter: the log's memory of refused texts does not merge distinct events whose texts erasure replaced (wt-fixb defect 3), and a retried event is still dead-lettered once", async () => {
  const withIds = streamSource({ name: 'payments', schema: { payment_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', allowedLateness: '30d', eventId: 'payment_id' });
  const t = await tempPlatform(defineProject({ ...spec, sources: [txns, withIds, signups], featureViews: [spend, featureView({ name: 'paid', entity: customer, source: withIds, features: { n: count() } })] }), NOW);
  cleanup.push(t.dispose);
  const { subject } = await requestErasure(t.platform, t.project, { entity: 'customer', key: [KEY], reason: 'customer asked', principal: operator });
  const runtime = await startStreamRuntime(t.platform, { project: () => t.project, commitIntervalMs: 3_600_000 });
  try {
    const event = (id: string, key: string) => JSON.stringify({ payment_id: id, customer_id: key, amount: 1, ts: '2024-02-28T00:00:00Z' });
    const body = `{"events": [${[event('p1', 'c1'), event('p2', KEY), event('p3', KEY)].join(', ')}]}`;
    expect(await runtime.processor.append('payments', { body }, 'push')).toEqual({ accepted: 1, duplicates: 0, rejected: [{ index: 1, reason: 'erased' }, { index: 2, reason: 'erased' }] });
    expect((await runtime.processor.append('payments', { texts: [event('p4', KEY)] }, 'nats')).rejected).toEqual([{ index: 0, reason: 'erased' }]);
    // The push retried (its answer lost): nothing new, its erased events among them.
    await runtime.processor.append('payments', { body }, 'push');
    await runtime.commitNow();
    const letters = await t.platform.metadata.listDeadLetters({ source: 'payments' });
    expect(letters.map((l) => l.reason)).toEqual(['erased', 'erased', 'erased']);
    expect(new Set(letters.map((l) => l.raw)).size).toBe(3);
    for (const l of letters) expect(JSON.parse(l.raw)).toEqual({ erased: subject.hash, event: expect.stringMatching(/^[0-9a-f]{64}$/) as string });
    expect(JSON.stringify(letters)).not.toContain(KEY);
  } finally {
    await runtime.close();
  }
});
