import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { avg, batchSource, count, countDistinct, defineProject, entity, featureService, featureView, field, last, max, min, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { runSkewJob } from '../src/observability/skew/index.js';
import { readServingLog } from '../src/observability/serving-log/read-serving-log.js';
import { servingLogFile } from '../src/observability/serving-log/served-row.js';
import { servingLogWriter } from '../src/observability/serving-log/serving-log-writer.js';
import { answerJson } from '../src/serving/http/answer-json.js';
import { materialize } from '../src/processing/materialize.js';
import { latestSnapshots, type LatestSnapshots } from '../src/serving/latest-snapshots.js';
import { createServer } from '../src/serving/http/server.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { appendServedLines, appendServedRows, compactRowLines, servedRowsOf, type ServedLogFormat } from './support/serving-log.js';
import { tempPlatform } from './support/temp-platform.js';
import { expectPromtoolAccepts } from './support/promtool.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', merchant: 'string', qty: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({
  name: 'stats', entity: customer, source: txns,
  features: {
    n_1h: count({ window: '1h' }), amount_sum_24h: sum('amount', { window: '24h' }), amount_avg_7d: avg('amount', { window: '7d' }),
    merchants_7d: countDistinct('merchant', { window: '7d' }), last_amount: last('amount'), qty_max: max('qty'), qty_sum_6h: sum('qty', { window: '6h', hop: '1h' }),
    first_ts: min('ts'), last_merchant: last('merchant', { window: '2h' }),
  },
});
const latest = featureView({ name: 'latest', entity: customer, source: txns, ttl: '3h', features: { amount: field('amount'), qty: field('qty') } });
const spec = defineProject({ name: 'skew', entities: [customer], sources: [txns], featureViews: [stats, latest], featureServices: [featureService({ name: 'fraud', features: [stats, latest] }), featureService({ name: 'other', features: [stats, latest] })] });
const FEATURES = [...Object.keys(stats.features).map((f) => `stats__${f}`), 'latest__amount', 'latest__qty'];

const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;
const CUSTOMERS = Array.from({ length: 60 }, (_, i) => `c${i}`);

/** Deterministic events: sums that depend on rounding (0.1, 1e16), int64 beyond 2^53, nulls, ties on ts. */
function eventsCsv(seed: number, n: number, from: number, to: number): string {
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const amounts = ['0.1', '0.2', '0.3', '1e16', '-1e16', '2.5', '', '100.75', '1'];
  const qtys = ['1', '9007199254740993', '-3', '', '42', '9223372036854775807'];
  const lines = ['customer_id,amount,merchant,qty,ts'];
  for (let i = 0; i < n; i++) {
    const c = CUSTOMERS[Math.floor(next() * (CUSTOMERS.length - 10))]!;
    const ts = from + Math.floor(next() * (to - from) / 60_000) * 60_000;
    const merchant = next() < 0.1 ? '' : `m${Math.floor(next() * 7)}`;
    lines.push([c, amounts[Math.floor(next() * amounts.length)], merchant, qtys[Math.floor(next() * qtys.length)], new Date(ts).toISOString()].join(','));
  }
  return `${lines.join('\n')}\n`;
}

// The same outcomes whatever the log's line format: whole rows (the first format), lean lines, compact row lines (the
// writer's own before 2026-11-30 (17), made from its lines now), request lines holding their rows (the writer's own).
describe.each<ServedLogFormat>(['whole', 'lean', 'compact', 'rows'])('the skew job (online against offline, per served value), %s log lines', (format) => {
  let env: Awaited<ReturnType<typeof tempPlatform>>;
  const serve = async (times: readonly number[], options: { latest?: LatestSnapshots } = {}) => {
    const store = await env.platform.online();
    const fixed = options.latest ?? (await latestSnapshots(env.platform.metadata, env.project));
    for (const [i, t] of times.entries()) {
      env.clock.now = t;
      // Known and unknown customers, a different slice at each time.
      const entities = [...CUSTOMERS.slice(i % 20, (i % 20) + 45), 'nobody'];
      const response = await getOnlineFeatures(env.project, store, { service: 'fraud', entities: { customer_id: entities } }, t, fixed);
      if (format === 'compact' || format === 'rows') {
        const log = servingLogWriter({ dataDir: env.platform.dataDir, defaultRate: 1 });
        const answer = answerJson(response);
        const file = servingLogFile(env.platform.dataDir, 'fraud', t);
        const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
        log.record(env.project, { entities: {}, service: 'fraud' }, response, `req-${t}`, t, answer.plain ? Buffer.from(answer.text) : undefined);
        await log.close();
        if (format === 'compact') writeFileSync(file, before + compactRowLines(readFileSync(file, 'utf8').slice(before.length)));
      } else appendServedLines(env.platform.dataDir, servedRowsOf(response, 'fraud', ['customer_id'], t), format);
    }
  };

  beforeAll(async () => {
    env = await tempPlatform(spec, T0 + 72 * HOUR, { threads: 2 });
    const file = join(env.dir, 'txns.csv');
    writeFileSync(file, eventsCsv(7, 3000, T0, T0 + 72 * HOUR));
    await ingestFile(env.platform, env.project, 'txns', file);
    await materialize(env.platform, env.project);
  });
  afterAll(async () => env?.dispose());

  test('a healthy pipeline: every served value of many entities at many times equals its recomputation (0 mismatches)', async () => {
    const start = T0 + 72 * HOUR;
    // Times after materialization, as windows keep sliding: minutes, hours, a hop boundary.
    await serve([start, start + 60_000, start + 37 * 60_000, start + HOUR, start + 2.5 * HOUR, start + 5 * HOUR + 1, start + 26 * HOUR]);
    const report = await runSkewJob(env.platform, env.project, { service: 'fraud', until: start + 27 * HOUR });
    expect(report.servedRows).toBe(7 * 46);
    expect(report).toMatchObject({ droppedRows: 0, incomplete: false });
    expect(report.features.map((f) => f.feature).sort()).toEqual([...FEATURES].sort());
    for (const f of report.features) {
      expect({ feature: f.feature, compared: f.compared, mismatches: f.mismatches, skipped: f.skipped, examples: f.examples }).toEqual({ feature: f.feature, compared: 7 * 46, mismatches: 0, skipped: {}, examples: [] });
      expect(f.onlineNullRate).toBe(f.offlineNullRate);
      expect(f.snapshots.servedBehind).toBe(0);
      expect(Object.keys(f.snapshots.served)).toEqual([`txns=${report.features[0]!.snapshots.latest.txns}`]);
    }
    // Nulls happen (an unknown customer, expired windows and ttl) and are compared as values.
    expect(report.features.find((f) => f.feature === 'latest__amount')!.onlineNullRate).toBeGreaterThan(0.1);
    expect(report.features.find((f) => f.feature === 'stats__amount_sum_24h')).toMatchObject({ maxAbsDiff: 0, meanAbsDiff: 0 });
    expect(report.unhealthy).toEqual([]);
    expect(await env.platform.metadata.health.list({ kind: 'skew', firing: true })).toEqual([]);
    expect((await env.platform.metadata.skew.latest()).map((r) => [r.feature, r.runId])).toEqual(report.features.map((f) => [f.feature, report.runId]));
    // Read and compared in batches of 50 rows (and a torn last line, as a crash mid-append leaves): the same result.
    appendFileSync(servingLogFile(env.platform.dataDir, 'fraud', start + 26 * HOUR), '{"requestId": "torn", "serv');
    const batched = await runSkewJob(env.platform, env.project, { service: 'fraud', until: start + 27 * HOUR, batchRows: 50 });
    expect(batched.unreadableLines).toBe(1);
    // `incomplete` means what it means in drift: the log's drop records say rows are missing (none here); unreadable lines are counted apart.
    expect(batched.incomplete).toBe(false);
    expect(batched.features).toEqual(report.features);
    const [run] = await env.platform.metadata.listRuns(2);
    expect(run).toMatchObject({ job: 'skew', status: 'succeeded', stats: { servedRows: 7 * 46, compared: 7 * 46 * FEATURES.length, mismatches: 0 } });
  });
  test('a corrupted online value is caught, naming the entity and the feature; the condition fires once and clears after a rematerialization', async () => {
    const store = await env.platform.online();
    const info = (await store.viewInfo('stats'))!;
    const { states } = await store.read('stats', ['c2']);
    // A wrong value written into the online table through the store's own API: c3 now holds c2's state.
    await store.update('stats', info.generation, ['c3'], () => states[0]);
    const start = T0 + 100 * HOUR;
    await serve([start, start + HOUR]);
    const report = await runSkewJob(env.platform, env.project, { service: 'fraud', since: start, until: start + 2 * HOUR });
    const wrong = report.features.filter((f) => f.mismatches > 0);
    expect(wrong.length).toBeGreaterThan(0);
    for (const f of wrong) {
      expect(f.feature.startsWith('stats__')).toBe(true);
      expect(f.examples.map((e) => e.entityKey)).toEqual(Array(f.examples.length).fill('c3'));
      expect(f.examples[0]!.keys).toEqual({ customer_id: 'c3' });
      expect(f.mismatches).toBeLessThanOrEqual(2);
      expect(f.mismatchRate).toBe(f.mismatches / f.compared);
    }
    expect(report.features.filter((f) => f.feature.startsWith('latest__')).every((f) => f.mismatches === 0)).toBe(true);
    const amount = report.features.find((f) => f.feature === 'stats__last_amount')!;
    expect(amount.mismatches).toBe(2);
    expect(amount.maxAbsDiff).toBeGreaterThan(0);
    expect(report.unhealthy).toEqual(wrong.map((f) => f.feature));
    const firing = await env.platform.metadata.health.list({ kind: 'skew', firing: true });
    expect(firing.map((c) => c.subject).sort()).toEqual(wrong.map((f) => `feature:${f.feature}`).sort());
    // The condition names the fix, not the values: it is read with the status right and sent to alert channels.
    const condition = firing.find((c) => c.subject === 'feature:stats__last_amount')!;
    expect(condition).toMatchObject({ severity: 'error', message: expect.stringContaining('sluice skew --json" lists examples'), details: { examples: 2 } });
    expect(condition.message).not.toMatch(/c3|online "|offline "/);
    // Exported at each scrape: the newest run's rate per service and feature.
    const app = await createServer(env.platform, {});
    try {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toContain('# TYPE sluice_skew_mismatch_rate gauge');
      expect(text).toContain(`sluice_skew_mismatch_rate{service="fraud",feature="stats__last_amount"} ${amount.mismatchRate}`);
      expect(text).toContain('sluice_skew_mismatch_rate{service="fraud",feature="latest__amount"} 0');
      expectPromtoolAccepts(text);
    } finally {
      await app.close();
    }
    // Fixed by a rematerialization: the next run finds it healthy and clears each condition (one resolved alert each).
    await materialize(env.platform, env.project);
    await serve([start + 3 * HOUR]);
    const healed = await runSkewJob(env.platform, env.project, { service: 'fraud', since: start + 3 * HOUR, until: start + 4 * HOUR });
    expect(healed.features.every((f) => f.mismatches === 0 && f.compared === 46)).toBe(true);
    expect(await env.platform.metadata.health.list({ kind: 'skew', firing: true })).toEqual([]);
    const alerts = (await env.platform.metadata.health.listAlerts(100)).filter((a) => a.condition.kind === 'skew');
    expect(alerts.filter((a) => a.transition === 'fired').length).toBe(wrong.length);
    expect(alerts.filter((a) => a.transition === 'resolved').length).toBe(wrong.length);
  });

  test('a view served from an older snapshot: values flagged STALE are skipped and counted; unflagged ones are recomputed against the snapshot they reflected and counted as behind the latest', async () => {
    const before = await latestSnapshots(env.platform.metadata, env.project);
    const file = join(env.dir, 'more.csv');
    writeFileSync(file, eventsCsv(11, 500, T0 + 100 * HOUR, T0 + 110 * HOUR));
    await ingestFile(env.platform, env.project, 'txns', file);
    const start = T0 + 110 * HOUR;
    // A server that has seen the new snapshot answers STALE; one whose poll has not yet seen it answers as before.
    await serve([start]);
    await serve([start + 60_000], { latest: before });
    const report = await runSkewJob(env.platform, env.project, { service: 'fraud', since: start, until: start + HOUR });
    const newest = (await env.platform.metadata.latestSnapshot('txns'))!.id;
    const old = before.get('txns')!.id;
    for (const f of report.features) {
      expect(f).toMatchObject({ compared: 46, mismatches: 0, skipped: { STALE: 46 } });
      expect(f.snapshots).toEqual({ served: { [`txns=${old}`]: 46 }, recomputed: { [`txns=${old}`]: 46 }, latest: { txns: newest }, servedBehind: 46 });
    }
    expect(report.skipReasons).toEqual({ STALE: expect.stringContaining('served STALE') });
    // Had those answers claimed the newer snapshot while holding the older one, every value the new data changed is caught.
    const rows = await readServingLog(env.platform.dataDir, { service: 'fraud', since: start + 60_000, until: start + HOUR });
    appendServedRows(env.platform.dataDir, rows.map((row) => ({ ...row, service: 'claims_newer', views: Object.fromEntries(Object.entries(row.views).map(([v, s]) => [v, { ...s, snapshots: { txns: newest } }])) })));
    const caught = await runSkewJob(env.platform, env.project, { service: 'claims_newer', since: start, until: start + HOUR });
    const total = caught.features.find((f) => f.feature === 'stats__amount_sum_24h')!;
    expect(total.mismatches).toBeGreaterThan(10);
    expect(total.snapshots.recomputed).toEqual({ [`txns=${newest}`]: 46 });
    expect(caught.unhealthy).toContain('stats__amount_sum_24h');
  });
  test('values that cannot be recomputed are counted by reason, never compared or dropped silently', async () => {
    const store = await env.platform.online();
    const t = T0 + 120 * HOUR;
    env.clock.now = t;
    // Fresh again after the previous test's ingest.
    await materialize(env.platform, env.project);
    const response = await getOnlineFeatures(env.project, store, { service: 'other', entities: { customer_id: ['c1', 'c2', 'c4'] } }, t, await latestSnapshots(env.platform.metadata, env.project));
    const [a, b, c] = servedRowsOf(response, 'other', ['customer_id'], t);
    const rows = [
      // Served by a table of another definition of "stats"; a feature since removed; a status that is not a value.
      { ...a!, views: { ...a!.views, stats: { ...a!.views.stats!, definitionHash: 'an-older-definition' } }, values: { ...a!.values, stats__gone: 1 }, statuses: { ...a!.statuses, stats__gone: 'PRESENT', latest__qty: 'NOT_MATERIALIZED' } },
      // A snapshot that no longer exists.
      { ...b!, views: { ...b!.views, latest: { ...b!.views.latest!, snapshots: { txns: 'txns@99-deadbeef' } } } },
      c!,
    ];
    appendServedRows(env.platform.dataDir, rows);
    const report = await runSkewJob(env.platform, env.project, { service: 'other', since: t, until: t + 1 });
    const byFeature = Object.fromEntries(report.features.map((f) => [f.feature, f]));
    expect(byFeature.stats__last_amount).toMatchObject({ compared: 2, mismatches: 0, skipped: { DEFINITION_CHANGED: 1 } });
    expect(byFeature.stats__gone).toMatchObject({ compared: 0, skipped: { UNKNOWN_FEATURE: 1 } });
    expect(byFeature.latest__qty).toMatchObject({ compared: 1, skipped: { NOT_MATERIALIZED: 1, SNAPSHOT_UNAVAILABLE: 1 } });
    expect(byFeature.latest__amount).toMatchObject({ compared: 2, skipped: { SNAPSHOT_UNAVAILABLE: 1 } });
    expect(Object.keys(report.skipReasons).sort()).toEqual(['DEFINITION_CHANGED', 'NOT_MATERIALIZED', 'SNAPSHOT_UNAVAILABLE', 'UNKNOWN_FEATURE']);
  });
  test.runIf(format === 'compact')('a period in which the serving log dropped rows is reported incomplete, with how many and why; the periods around it are not', async () => {
    const store = await env.platform.online();
    const t = T0 + 130 * HOUR;
    env.clock.now = t;
    const response = await getOnlineFeatures(env.project, store, { service: 'fraud', entities: { customer_id: CUSTOMERS.slice(0, 30) } }, t, await latestSnapshots(env.platform.metadata, env.project));
    // A buffer of 10 rows: 20 of the 30 sampled rows are dropped.
    const log = servingLogWriter({ dataDir: env.platform.dataDir, defaultRate: 1, maxBufferedRows: 10 });
    log.record(env.project, { entities: {}, service: 'fraud' }, response, `req-${t}`, t);
    await log.close();
    const report = await runSkewJob(env.platform, env.project, { service: 'fraud', since: t, until: t + HOUR });
    expect(report).toMatchObject({ servedRows: 10, droppedRows: 20, incomplete: true, drops: { rows: 20, bufferFull: 20, writeFailed: 0, from: t, to: t, errors: [] } });
    expect(report.features.every((f) => f.mismatches === 0 && f.compared === 10)).toBe(true);
    const [run] = await env.platform.metadata.listRuns(1);
    expect(run).toMatchObject({ job: 'skew', stats: { servedRows: 10, droppedRows: 20 } });
    // Every service's log over a range that holds the drops says so too; a range after them does not.
    expect((await runSkewJob(env.platform, env.project, { since: t - HOUR, until: t + 1 })).droppedRows).toBe(20);
    expect(await runSkewJob(env.platform, env.project, { service: 'fraud', since: t + 1, until: t + HOUR })).toMatchObject({ droppedRows: 0, incomplete: false });
  });
});
