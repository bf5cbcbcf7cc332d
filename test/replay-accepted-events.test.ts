import { afterEach, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, streamSource, sum } from '../src/definitions/index.js';
import { materialize } from '../src/processing/materialize.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { healthStatus } from '../src/observability/status/health-status.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

// Events acknowledged and written to the durable log replay as they were accepted: a rule of the
// way in added later (a JSON key that differs from a column only in case is refused) does not
// refuse them again when online state is rebuilt from the log, so the online answer equals the
// lake's and materialize's, which read the log as it is.
const T0 = Date.parse('2024-01-01T00:00:00Z');
const NOW = T0 + 3_600_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id' });
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count(), total: sum('amount') } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats] });
const project = compileProject(spec);
const event = (id: string, amountKey: string, amount: number, minute: number) => JSON.stringify({ payment_id: id, account_id: 'a1', [amountKey]: amount, ts: new Date(T0 + minute * 60_000).toISOString() });

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

test('log entries written before the cased-key rule replay as they were accepted: the online state caught up from the log equals a rebuild by materialize', async () => {
  const env = await tempPlatform(spec, NOW);
  cleanup.push(() => env.dispose());
  await materialize(env.platform, env.project);
  const warnings: string[] = [];
  const runtime: StreamRuntime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000, log: (level, message) => void (level === 'warn' && warnings.push(message)) });
  cleanup.push(() => runtime.close());
  // As a sluice without the rule accepted them: "Amount" was read as no amount (null), the event counted.
  const log = await env.platform.log();
  await log.append('payments', { ackTime: T0 + 600_000, origin: 'push', events: [event('p1', 'Amount', 5, 1), event('p2', 'amount', 2, 2)], ids: ['p1', 'p2'], rejected: [] });
  await log.append('payments', { ackTime: T0 + 660_000, origin: 'push', events: [event('p3', 'amount', 1, 3)], ids: ['p3'], rejected: [] });
  const answer = async () => (await getOnlineFeatures(project, await env.platform.online(), { entities: { account_id: ['a1'] }, features: ['stats:n', 'stats:total'] }, NOW, await latestSnapshots(env.platform.metadata, project))).rows;
  await runtime.processor.applyOnline(env.project, env.project.sources.find((s) => s.name === 'payments')!, 2, NOW, undefined);
  const caughtUp = await answer();
  await materialize(env.platform, env.project);
  const rebuilt = await answer();
  expect(rebuilt).toEqual([{ account_id: 'a1', stats__n: 3, stats__total: 3 }]);
  expect(caughtUp).toEqual(rebuilt);
  // The rule holds at the way in: a new event with such a key is refused, with its reason, before the log.
  const pushed = await runtime.processor.append('payments', { texts: [event('p4', 'Amount', 7, 4)] }, 'push');
  expect(pushed).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: 'column "amount": key "Amount" differs only in case: JSON keys must match the schema exactly' }] });
  expect(log.head('payments')).toBe(3);
  expect(log.read('payments', 2, 1)[0]).toMatchObject({ events: [], rejected: [{ index: 0 }] });
  expect(warnings).toEqual([]);
  // An event in the log that replay refuses all the same (here one without its entity key, written by hand) is said, not dropped silently.
  await log.append('payments', { ackTime: T0 + 720_000, origin: 'push', events: [JSON.stringify({ payment_id: 'p5', amount: 1, ts: new Date(T0 + 5 * 60_000).toISOString() })], ids: ['p5'], rejected: [] });
  await runtime.processor.applyOnline(env.project, env.project.sources.find((s) => s.name === 'payments')!, 4, NOW, undefined);
  const said = [expect.stringMatching(/^view "stats": 1 event\(s\) of log entry 4 of source "payments", accepted when acknowledged, are refused when read again and left out of its online table \(first: .*account_id/)];
  expect(warnings).toEqual(said);
  // It stays while the table that serves the view leaves the events out.
  const refusals = async () => (await healthStatus(env.platform, env.project)).conditions.filter((c) => c.kind === 'replay_refused').map((c) => c.details?.entry);
  expect(await refusals()).toEqual([4]);
  // Said once, not on every catch-up: a rebuild of the view replays the entry again, and the health condition keeps it visible.
  await materialize(env.platform, env.project);
  await runtime.processor.applyOnline(env.project, env.project.sources.find((s) => s.name === 'payments')!, 4, NOW, undefined);
  expect(warnings).toEqual(said);
  const conditions = await env.platform.metadata.health.list({ firing: true, kind: 'replay_refused' });
  expect(conditions.map((c) => [c.subject, c.severity, c.details])).toEqual([['view:stats', 'warn', expect.objectContaining({ source: 'payments', entry: 4, events: 1 })]]);
  expect(conditions[0]!.message).toMatch(/log entry 4 of source "payments".*refused when read again/);
  // It ends once a materialize rebuilt the table (the rebuild read entry 4 itself: what it serves is what materialize gives).
  expect(await refusals()).toEqual([]);
  // A refusal of a later entry ends once the entry is trimmed from the log.
  await log.append('payments', { ackTime: T0 + 780_000, origin: 'push', events: [JSON.stringify({ payment_id: 'p6', amount: 1, ts: new Date(T0 + 6 * 60_000).toISOString() })], ids: ['p6'], rejected: [] });
  await runtime.processor.applyOnline(env.project, env.project.sources.find((s) => s.name === 'payments')!, 5, NOW, undefined);
  expect(await refusals()).toEqual([5]);
  await runtime.commitNow();
  await log.trim('payments', 5, NOW);
  expect(await refusals()).toEqual([]);
  expect(warnings).toEqual([...said, expect.stringMatching(/log entry 5 of source "payments"/)]);
});
