import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { holderIsGone, newLeaseHolder } from '../src/orchestration/lease.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { InterruptedError } from '../src/errors.js';
import { servingLogDir, type ServedRow } from '../src/observability/serving-log/index.js';
import { runRetention } from '../src/compliance/retention/run-retention.js';
import { appendServedRows } from './support/serving-log.js';
import { tempPlatform } from './support/temp-platform.js';

// A retention run stopped (Ctrl-C, SIGTERM, a stopping scheduler) after its purge committed: at a view's
// lease wait or between the serving log's files. The purge committed, so the run succeeds with what it
// removed and says what it left (`stopped`), as a stop before the scrub does; the next run finishes it.
const DAY = 86_400_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', retention: '30d' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() }, retention: '10d' });
const spec = defineProject({ name: 'ret', entities: [customer], sources: [txns], featureViews: [stats], featureServices: [featureService({ name: 'svc', features: [stats] })] });
const principal = { name: 'cli:test', roles: [], origin: 'local' };
const SIGTERM = 'interrupted (SIGTERM)';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Two expired events (`old`, `both` at day 0), `quiet` past the view's cutoff only (day 27), `both` and `new` kept; now: day 45. */
async function setup() {
  const t = await tempPlatform(spec, T0);
  cleanup.push(t.dispose);
  const ingest = async (name: string, rows: string) => {
    writeFileSync(join(t.dir, name), `customer_id,ts\n${rows}`);
    await ingestFile(t.platform, t.project, 'txns', join(t.dir, name));
  };
  await ingest('a.csv', 'old,2024-01-01T00:00:00Z\nboth,2024-01-01T00:00:00Z\n');
  t.clock.now = T0 + 40 * DAY;
  await ingest('b.csv', 'both,2024-02-05T00:00:00Z\nquiet,2024-01-28T00:00:00Z\nnew,2024-02-09T00:00:00Z\n');
  await materialize(t.platform, t.project);
  t.clock.now = T0 + 45 * DAY;
  return t;
}

/** `n` rows served by `svc` at `servedAt` (one request), answering the view `stats`. */
function served(servedAt: number, n: number): ServedRow[] {
  return Array.from({ length: n }, (_, i) => ({
    requestId: `req-${servedAt}`, service: 'svc', entityKey: `c${i}`, keys: { customer_id: `c${i}` }, asOf: new Date(servedAt).toISOString(), servedAt,
    values: { stats__n: i }, statuses: { stats__n: 'PRESENT' }, views: { stats: { definitionHash: '', snapshots: {} } },
  }));
}

/** Aborts a stop (as SIGTERM does to `sluice retention run`) when the run reaches `step`. */
function stopAt(step: string): AbortSignal {
  const stop = new AbortController();
  cleanup.push(onTestPause(step, () => stop.abort(new InterruptedError('INTERRUPTED', SIGTERM, { details: { signal: 'SIGTERM' } }))));
  return stop.signal;
}

test("a retention stopped while it waits for a view's lease, past its purge's commit, succeeds with what it removed and leaves the view, the serving log and the scrub to the next run, which finishes them", async () => {
  const { platform, project } = await setup();
  // Past the purge (which holds the view's lease itself), a materialize in another process takes the lease.
  const other = newLeaseHolder();
  const taken = onTestPause('retention.purged', async () => {
    taken();
    expect((await platform.metadata.acquireLease('materialize:stats', other, 600_000, holderIsGone)).acquired).toBe(true);
  });
  cleanup.push(taken);
  const signal = stopAt('lease.wait:materialize:stats');

  const report = await runRetention(platform, project, { principal, signal });
  expect(report.sources[0]!.purge.stores.find((s) => s.store === 'lake:txns')).toMatchObject({ rows: 2 });
  expect((await platform.metadata.latestSnapshot('txns'))!.rowCount).toBe(3);
  expect(report.stopped).toEqual({ reason: SIGTERM, left: ['online:stats', 'serving-log', 'drop-records', 'scrub'] });
  expect(report.views).toEqual([{ view: 'stats', retention: '10d', cutoff: T0 + 35 * DAY, entries: 0, servedRows: 0 }]);
  expect(report.scrubPending.map((p) => p.store)).toEqual(['online']);
  // `quiet` (newest event day 27, before the view's cutoff) is still online: the view's step was left.
  const online = await platform.online();
  expect((await online.read('stats', ['quiet'])).states[0]).toBeDefined();
  const audit = (await platform.metadata.audit.list()).filter((r) => r.action === 'retention.run');
  expect(audit.map((r) => [r.outcome, r.details?.stopped])).toEqual([['succeeded', { reason: SIGTERM, left: ['online:stats', 'serving-log', 'drop-records', 'scrub'] }]]);
  expect((await platform.metadata.health.list({ firing: true })).map((c) => [c.kind, c.subject])).toEqual([['scrub_pending', 'store:online']]);

  await platform.metadata.releaseLease('materialize:stats', other.id);
  const again = await runRetention(platform, project, { principal });
  expect(again.stopped).toBeUndefined();
  expect(again.views).toEqual([{ view: 'stats', retention: '10d', cutoff: T0 + 35 * DAY, entries: 1, servedRows: 0 }]);
  expect((await online.read('stats', ['quiet'])).states[0]).toBeUndefined();
  expect(await platform.metadata.health.list({ firing: true })).toEqual([]);
});

test("a retention stopped between the serving log's files succeeds with the rows it removed, and the next run removes the rest", async () => {
  const { platform, project } = await setup();
  // Served between the source's cutoff (day 15) and the view's (day 35): only the view's retention removes them.
  appendServedRows(platform.dataDir, [...served(T0 + 20 * DAY, 2), ...served(T0 + 21 * DAY, 3), ...served(T0 + 40 * DAY, 1)]);
  const signal = stopAt('purge.serving-log-file');

  const report = await runRetention(platform, project, { principal, signal });
  expect(report.stopped).toEqual({ reason: SIGTERM, left: ['serving-log', 'drop-records', 'scrub'] });
  expect(report.views).toEqual([{ view: 'stats', retention: '10d', cutoff: T0 + 35 * DAY, entries: 1, servedRows: 2 }]);
  const dir = servingLogDir(platform.dataDir, 'svc');
  expect(readdirSync(dir).sort()).toEqual(['2024-01-22T00.jsonl', '2024-02-10T00.jsonl']);
  expect((await platform.metadata.audit.list()).filter((r) => r.action === 'retention.run').map((r) => r.outcome)).toEqual(['succeeded']);

  const again = await runRetention(platform, project, { principal });
  expect(again.stopped).toBeUndefined();
  expect(again.views[0]).toMatchObject({ entries: 0, servedRows: 3 });
  expect(existsSync(join(dir, '2024-01-22T00.jsonl'))).toBe(false);
  expect(readdirSync(dir)).toEqual(['2024-02-10T00.jsonl']);
});

test('a retention stopped in its first purge fails as interrupted, as the purge does (its unfinished steps are the next run\'s)', async () => {
  const { platform, project } = await setup();
  const signal = stopAt('purge.lake-done');
  await expect(runRetention(platform, project, { principal, signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
  expect((await platform.metadata.audit.list()).filter((r) => r.action === 'retention.run').map((r) => r.outcome)).toEqual(['failed']);
});

test('a retention stopped after its first source committed leaves the next source to the next run, which purges it', async () => {
  const refunds = batchSource({ name: 'refunds', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', retention: '30d' });
  const t = await tempPlatform(defineProject({ name: 'two', entities: [customer], sources: [txns, refunds], featureViews: [] }), T0 + 45 * DAY);
  cleanup.push(t.dispose);
  for (const source of ['txns', 'refunds']) {
    writeFileSync(join(t.dir, `${source}.csv`), 'customer_id,ts\nold,2024-01-01T00:00:00Z\nnew,2024-02-10T00:00:00Z\n');
    await ingestFile(t.platform, t.project, source, join(t.dir, `${source}.csv`));
  }
  const report = await runRetention(t.platform, t.project, { principal, signal: stopAt('retention.expired') });
  expect(report.stopped).toEqual({ reason: SIGTERM, left: ['source:refunds', 'scrub'] });
  expect(report.sources.map((s) => [s.source, s.purge.stores.find((p) => p.store.startsWith('lake:'))!.rows])).toEqual([['txns', 1]]);
  expect((await t.platform.metadata.latestSnapshot('refunds'))!.rowCount).toBe(2);
  const again = await runRetention(t.platform, t.project, { principal });
  expect(again.sources.map((s) => [s.source, s.purge.stores.find((p) => p.store.startsWith('lake:'))!.rows])).toEqual([['txns', 0], ['refunds', 1]]);
  expect((await t.platform.metadata.latestSnapshot('refunds'))!.rowCount).toBe(1);
});
