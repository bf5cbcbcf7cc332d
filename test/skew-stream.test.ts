import { afterEach, beforeEach, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, last, streamSource, sum } from '../src/definitions/index.js';
import { runSkewJob } from '../src/observability/skew/index.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { appendServedRows, servedRowsOf } from './support/serving-log.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const HOUR = 3_600_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h',
});
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n_1h: count({ window: '1h' }), usd_24h: sum('amount', { window: '24h' }), total: sum('amount'), last_channel: last('channel') } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats] });
const FEATURES = ['stats:n_1h', 'stats:usd_24h', 'stats:total', 'stats:last_channel'];
const ACCOUNTS = Array.from({ length: 7 }, (_, i) => `a${i}`);

let env: Awaited<ReturnType<typeof tempPlatform>>;
let runtime: StreamRuntime;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 10 * HOUR);
  runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
});
afterEach(async () => {
  await runtime.close();
  await env.dispose();
});

const event = (id: string, account: string, amount: number, minutes: number) =>
  JSON.stringify({ payment_id: id, account_id: account, amount, channel: minutes % 2 === 0 ? 'web' : 'pos', ts: new Date(T0 + minutes * 60_000).toISOString() });

/** Serves every account now, logging the answer as the serving log's writer does (a feature list: service `_features`). */
async function serveAndLog(): Promise<void> {
  const response = await getOnlineFeatures(env.project, await env.platform.online(), { entities: { account_id: ACCOUNTS }, features: FEATURES }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project));
  appendServedRows(env.platform.dataDir, servedRowsOf(response, '_features', ['account_id'], env.clock.now));
}

test('a streamed view is recomputed over the latest snapshot as known at each asOf: 0 mismatches for values served before the lake commit and for late events that arrived after the answer', async () => {
  const texts = Array.from({ length: 300 }, (_, i) => event(`p${i}`, `a${i % 7}`, ((i * 37) % 101) / 4, 540 + (i % 60)));
  for (let i = 0; i < 150; i += 50) await runtime.processor.append('payments', { texts: texts.slice(i, i + 50) }, 'push');
  // Served a second after the acknowledgement, from the online table, before any of it is in the lake.
  env.clock.now += 1_000;
  await serveAndLog();
  await runtime.commitNow();
  env.clock.now += 20 * 60_000;
  // Late events (within the allowed lateness, before the first asOf) arrive after the first answer: they are not skew.
  for (let i = 150; i < 300; i += 50) await runtime.processor.append('payments', { texts: texts.slice(i, i + 50) }, 'push');
  env.clock.now += 1_000;
  await serveAndLog();
  await runtime.commitNow();
  const report = await runSkewJob(env.platform, env.project, { until: env.clock.now + 1 });
  const latest = (await env.platform.metadata.latestSnapshot('payments'))!.id;
  expect(report.servedRows).toBe(14);
  for (const f of report.features) {
    expect(f).toMatchObject({ service: '_features', compared: 14, mismatches: 0, skipped: {} });
    expect(f.snapshots.recomputed).toEqual({ [`payments=${latest}`]: 14 });
  }
});
