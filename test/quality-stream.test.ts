import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { allowedValues, count, defineProject, entity, featureView, notNull, range, rowCount, sqlCheck, streamSource, unique } from '../src/definitions/index.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { until } from './support/file-sink.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments', schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' }, timestamp: 'ts', allowedLateness: '1d',
  checks: [
    notNull('amount', { severity: 'error' }), range('amount', { min: 0, severity: 'error' }), sqlCheck('no_future', 'ts <= now()', { severity: 'error' }),
    allowedValues('channel', ['web', 'pos']), unique('payment_id', { severity: 'error' }), rowCount({ max: 100 }),
  ],
});
// Sources with an event id: duplicates by it are not judged by the checks.
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const withId = { pid: 'string', customer_id: 'string', amt: 'float64', ts: 'timestamp' } as const;
const strict = streamSource({ name: 'pay2', schema: withId, timestamp: 'ts', eventId: 'pid', allowedLateness: '1d', checks: [unique('customer_id', { name: 'one_per_customer', severity: 'error' })] });
const lenient = streamSource({ name: 'pay', schema: withId, timestamp: 'ts', eventId: 'pid', allowedLateness: '1d', checks: [range('amt', { min: 0, severity: 'error' }), unique('customer_id', { name: 'one_per_customer' })] });
const spec = defineProject({
  name: 's', entities: [account, customer], sources: [payments, strict, lenient],
  featureViews: [
    featureView({ name: 'paid', entity: account, source: payments, features: { n: count() } }),
    featureView({ name: 'paid2', entity: customer, source: strict, features: { n: count() } }), featureView({ name: 'paid_c', entity: customer, source: lenient, features: { n: count() } }),
  ],
});

let env: Awaited<ReturnType<typeof tempPlatform>>;
let runtime: StreamRuntime;
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
  runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
});
afterEach(async () => {
  await runtime.close();
  await env.dispose();
});

const event = (id: string, amount: number | null, channel = 'web', ts = '2023-12-31T23:00:00Z') => JSON.stringify({ payment_id: id, account_id: 'a1', amount, channel, ts });
const push = (texts: string[]) => runtime.processor.append('payments', { texts }, 'push');
const push2 = (body: string) => runtime.processor.append('payments', { body }, 'push');

describe('checks on streamed and pushed groups', () => {
  test('an error row check rejects the failing events to the dead-letter store with reason "check <name>: ..."; the rest are accepted', async () => {
    const outcome = await push([event('p1', 10), event('p2', null), event('p3', -5), event('p4', 3, 'web', '2024-01-01T00:02:00Z'), event('p5', 1, 'fax')]);
    expect(outcome.accepted).toBe(2);
    expect(outcome.rejected).toEqual([
      { index: 1, reason: 'check amount_not_null: amount is not null' },
      { index: 2, reason: 'check amount_range: amount >= 0' },
      { index: 3, reason: 'check no_future: ts <= now()' },
    ]);
    await runtime.commitNow();
    const letters = await env.platform.metadata.listDeadLetters({ source: 'payments', limit: 10 });
    expect(letters.map((d) => d.reason).sort()).toEqual(['check amount_not_null: amount is not null', 'check amount_range: amount >= 0', 'check no_future: ts <= now()']);
  });

  test('a push body is checked the same way', async () => {
    const outcome = await push2(`{"events": [${event('p1', 10)}, ${event('p2', null)}]}`);
    expect(outcome).toMatchObject({ accepted: 1, rejected: [{ index: 1, reason: 'check amount_not_null: amount is not null' }] });
  });

  test('aggregate checks are evaluated per group: a failing error one rejects the group; warn ones are recorded with health', async () => {
    const outcome = await push([event('p1', 10), event('p1', 11), event('p2', 1, 'fax')]);
    expect(outcome.accepted).toBe(0);
    expect(outcome.rejected.map((r) => r.reason)).toEqual(Array(3).fill('check payment_id_unique: (payment_id) is unique: 2 of 3 rows fail'));
    // Results are recorded off the hot path: wait for them to land.
    await until('the group\'s results are recorded', async () => (await env.platform.metadata.quality.latestResults({ dataset: 'payments' })).length === 6);
    const latest = await env.platform.metadata.quality.latestResults({ dataset: 'payments' });
    expect(latest.filter((r) => !r.passed).map((r) => r.check).sort()).toEqual(['channel_allowed_values', 'payment_id_unique']);
    const firing = await env.platform.metadata.health.list({ firing: true });
    expect(firing.map((c) => [c.subject, c.severity]).sort()).toEqual([['check:payments/channel_allowed_values', 'warn'], ['check:payments/payment_id_unique', 'error']]);
    // A clean group clears them (its outcome changed, so it is recorded at once).
    expect((await push([event('p9', 1)])).accepted).toBe(1);
    await until('the conditions clear', async () => (await env.platform.metadata.health.list({ firing: true })).length === 0);
  });

  test('a check on the whole batch judges each request on its own rows: one client\'s bad batch does not reject another\'s good one in the same group', async () => {
    // The first push is taken as a group at once; the two after it wait and are processed as one group.
    const [first, good, bad, body] = await Promise.all([
      push([event('g1', 1)]), push([event('g2', 1), event('g3', 2)]), push([event('b1', 1), event('b1', 2)]), push2(`{"events": [${event('g4', 1)}]}`),
    ]);
    expect(first).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect(good).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect(body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect(bad.accepted).toBe(0);
    expect(bad.rejected.map((r) => r.reason)).toEqual(Array(2).fill('check payment_id_unique: (payment_id) is unique: 2 of 2 rows fail'));
  });

  test('accepted events reach the lake unchanged (the lake commit does not check them again)', async () => {
    expect((await push([event('p1', 10), event('p2', 20)])).accepted).toBe(2);
    const [commit] = await runtime.commitNow();
    expect(commit).toMatchObject({ rows: 2, deadLetters: 0 });
  });
});

const idEvent = (pid: string, customerId: string, amt = 1) => JSON.stringify({ pid, customer_id: customerId, amt, ts: '2023-12-31T23:00:00Z' });
const pushTo = (source: string, events: string[]) => runtime.processor.append(source, { body: `{"events": [${events.join(', ')}]}` }, 'push');
const deadLetters = async (source: string) => {
  await runtime.commitNow();
  return (await env.platform.metadata.listDeadLetters({ source, limit: 100 })).map((d) => d.reason);
};

describe('checks on a stream judge the events that would be accepted: duplicates by eventId are not judged', () => {
  test('the same event twice in one body (a client retry) is one event and one duplicate, not a failing unique check', async () => {
    const outcome = await pushTo('pay2', [idEvent('r1', 'c1'), idEvent('r1', 'c1'), idEvent('r2', 'c2')]);
    expect(outcome).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    expect(await deadLetters('pay2')).toEqual([]);
  });

  test('an event already in the log sent again with a new one of the same key: the old one is a duplicate, the new one is judged alone', async () => {
    expect(await pushTo('pay2', [idEvent('r4', 'c4')])).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect(await pushTo('pay2', [idEvent('r4', 'c4'), idEvent('r6', 'c4')])).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
    expect(await deadLetters('pay2')).toEqual([]);
  });

  test('a repeated key among new events still fails the check, and a duplicate of a rejected event is a duplicate, not a second rejection', async () => {
    const outcome = await pushTo('pay2', [idEvent('r7', 'c7'), idEvent('r8', 'c7'), idEvent('r7', 'c7')]);
    expect(outcome.accepted).toBe(0);
    expect(outcome.duplicates).toBe(1);
    expect(outcome.rejected.map((r) => [r.index, r.reason])).toEqual([0, 1].map((i) => [i, 'check one_per_customer: (customer_id) is unique: 2 of 2 rows fail']));
    // Every rejection answered has its dead letter.
    expect(await deadLetters('pay2')).toHaveLength(outcome.rejected.length);
  });

  test('a warn check is not failed by a duplicate (no false check_failed)', async () => {
    expect(await pushTo('pay', [idEvent('w1', 'c1'), idEvent('w1', 'c1'), idEvent('w2', 'c2')])).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    // Results are recorded off the hot path (a group's first verdict at once): wait for both checks' results.
    await until('the results are recorded', async () => (await env.platform.metadata.quality.latestResults({ dataset: 'pay' })).length === 2);
    const latest = await env.platform.metadata.quality.latestResults({ dataset: 'pay' });
    expect(latest.map((r) => [r.check, r.passed, r.totalRows]).sort()).toEqual([['amt_range', true, 2], ['one_per_customer', true, 2]]);
    expect(await env.platform.metadata.health.list({ firing: true })).toEqual([]);
  });

  test('an event rejected by a row rule sent twice in one body: one rejection with its dead letter, one duplicate', async () => {
    const outcome = await pushTo('pay', [idEvent('n1', 'c1', -1), idEvent('n1', 'c1', -1), idEvent('n2', 'c2')]);
    expect(outcome).toEqual({ accepted: 1, duplicates: 1, rejected: [{ index: 0, reason: 'check amt_range: amt >= 0' }] });
    expect(await deadLetters('pay')).toEqual(['check amt_range: amt >= 0']);
  });
});
