import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, projectJobs } from '../src/definitions/index.js';
import { appendDropRecords, servingLogDir, servingLogDrops, servingLogWriter, UNNAMED_SERVICE } from '../src/observability/serving-log/index.js';
import type { OnlineFeaturesResponse } from '../src/serving/online-features.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { runJob } from '../src/orchestration/run-job.js';
import { literalList } from '../src/storage/engine/sql-engine.js';
import { tempPlatform } from './support/temp-platform.js';
import { runRetention } from '../src/compliance/retention/run-retention.js';
import { createScheduler } from '../src/orchestration/scheduler.js';
import { projectSchedules } from '../src/orchestration/project-schedules.js';
import { schedule } from '../src/definitions/index.js';
import { fakeClock } from './support/fake-clock.js';

const DAY = 86_400_000;
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', retention: '30d' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() }, retention: '10d' });
const spec = defineProject({ name: 'ret', entities: [customer], sources: [txns], featureViews: [stats] });
const principal = { name: 'cli:test', roles: [], origin: 'local' };
const T0 = Date.parse('2024-01-01T00:00:00Z');

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

test('retention is outside the value hashes: declaring it changes no source, view or job upstream', () => {
  const plain = compileProject(defineProject({ name: 'ret', entities: [customer], sources: [batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' })], featureViews: [featureView({ name: 'stats', entity: customer, source: batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' }), features: { n: count() } })] }));
  const kept = compileProject(spec);
  expect(kept.sources[0]).toMatchObject({ retention: '30d', retentionMs: 30 * DAY, hash: plain.sources[0]!.hash });
  expect(kept.featureViews[0]).toMatchObject({ retention: '10d', retentionMs: 10 * DAY, hash: plain.featureViews[0]!.hash });
  expect(projectJobs(kept).map((j) => j.name)).toEqual(['materialize:stats', 'retention:ret']);
  expect(projectJobs(plain).map((j) => j.name)).toEqual(['materialize:stats']);
  expect(() => compileProject(defineProject({ name: 'x', entities: [customer], sources: [batchSource({ name: 's', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', retention: 'forever' })], featureViews: [] }))).toThrow(/retention "forever" is not a positive duration; write e.g. "400d"/);
});

test('a run removes expired events from every snapshot, expires snapshots older than the cutoff, trims online entries, and is audited; a dry run and a second run remove nothing', async () => {
  const t = await tempPlatform(spec, T0);
  cleanup.push(t.dispose);
  const { platform, project, dir, clock } = t;
  const ingest = async (name: string, rows: string) => {
    writeFileSync(join(dir, name), `customer_id,ts\n${rows}`);
    await ingestFile(platform, project, 'txns', join(dir, name));
  };
  await ingest('a.csv', 'old,2024-01-01T00:00:00Z\nboth,2024-01-01T00:00:00Z\n');
  const first = (await platform.metadata.latestSnapshot('txns'))!;
  clock.now = T0 + 40 * DAY;
  await ingest('b.csv', 'both,2024-02-05T00:00:00Z\nquiet,2024-01-28T00:00:00Z\nnew,2024-02-09T00:00:00Z\n');
  await materialize(platform, project);
  clock.now = T0 + 45 * DAY;

  const dry = await runRetention(platform, project, { principal, dryRun: true });
  expect(dry.sources[0]).toMatchObject({ source: 'txns', cutoff: T0 + 15 * DAY, expiredSnapshots: [first.id] });
  expect(dry.sources[0]!.purge.stores.map((s) => [s.store, s.rows])).toEqual([['lake:txns', 2], ['quarantine:txns', 0], ['dead-letters:txns', 0], ['online:stats', 1], ['serving-log', 0]]);
  expect(dry.views).toEqual([{ view: 'stats', retention: '10d', cutoff: T0 + 35 * DAY, entries: 2, servedRows: 0 }]);
  expect(await platform.metadata.snapshot(first.id)).toEqual(first);

  const report = await runRetention(platform, project, { principal });
  expect(report.sources[0]!.purge.stores.find((s) => s.store === 'lake:txns')).toMatchObject({ rows: 2 });
  expect(await platform.metadata.snapshot(first.id)).toBeUndefined();
  // The first file held only expired rows: dropped from every snapshot and deleted.
  expect(existsSync(platform.lake.resolve(first.files[0]!))).toBe(false);
  const latest = (await platform.metadata.latestSnapshot('txns'))!;
  const engine = await platform.engine();
  const rows = await engine.all<{ c: string }>(`SELECT customer_id AS c FROM read_parquet(${literalList(latest.files.map((f) => platform.lake.resolve(f)))}) ORDER BY _seq`);
  expect(rows.map((r) => r.c)).toEqual(['both', 'quiet', 'new']);
  expect(latest.rowCount).toBe(3);
  // The view keeps entities with an event in its last 10 days; `old` left with the lake purge, `quiet` by the view's retention.
  const online = await platform.online();
  expect((await online.read('stats', ['old', 'both', 'quiet', 'new'])).states.map((s) => s !== undefined)).toEqual([false, true, false, true]);

  const again = await runRetention(platform, project, { principal });
  expect(again.sources[0]!.purge.rows + again.views[0]!.entries + again.sources[0]!.expiredSnapshots.length).toBe(0);
  const audit = (await platform.metadata.audit.list()).filter((r) => r.action === 'retention.run');
  expect(audit.map((r) => [r.actor, r.outcome, r.details?.dryRun])).toEqual([['cli:test', 'succeeded', true], ['cli:test', 'succeeded', false], ['cli:test', 'succeeded', false]]);
  expect(audit[1]!.details).toMatchObject({ sources: [{ source: 'txns', rows: 3, expiredSnapshots: 1, filesDeleted: 0 }], views: [{ view: 'stats', entries: 1 }] });

  // The scheduled job runs the same retention, as the scheduler.
  clock.now = T0 + 60 * DAY;
  const stats = await runJob({ ...platform, projectDir: dir }, project, 'retention:ret', { trigger: 'schedule' });
  expect(stats).toMatchObject({ removedRows: 1 });
  expect((await platform.metadata.audit.list()).at(-1)).toMatchObject({ action: 'retention.run', actor: 'scheduler' });
});

test('declared retention is enforced by every scheduler (sluice serve, sluice worker) without a schedule of the user\'s: hourly, in run history like any job; a declared schedule of the job replaces it', async () => {
  const t = await tempPlatform(spec, T0 + 45 * DAY);
  cleanup.push(t.dispose);
  const { platform, project, dir } = t;
  writeFileSync(join(dir, 'a.csv'), 'customer_id,ts\nold,2024-01-01T00:00:00Z\nnew,2024-02-14T00:00:00Z\n');
  await ingestFile(platform, project, 'txns', join(dir, 'a.csv'));
  const clock = fakeClock(T0 + 45 * DAY + 1_000);
  const scheduler = createScheduler({ ...platform, projectDir: dir }, { project: () => platform.project(), clock });
  // Seen for the first time: it starts from now; the next hour fires.
  expect(await scheduler.tick()).toEqual([]);
  await clock.advance(3_600_000);
  expect(await scheduler.tick()).toEqual(['retention:ret@2024-02-15T01:00:00.000Z']);
  await scheduler.idle();
  const runs = (await platform.metadata.listRuns(10)).filter((r) => r.job === 'retention:ret');
  expect(runs.map((r) => [r.status, r.params.trigger, r.stats?.removedRows])).toEqual([['succeeded', 'schedule', 1]]);
  await scheduler.stop();
  // The user's own schedule of the job (its time, its identity) is the one that runs.
  const own = compileProject(defineProject({ ...spec, schedules: [schedule({ job: 'retention:ret', cron: '0 3 * * *' })] }));
  expect(projectSchedules(own).map((s) => [s.job, s.cron])).toEqual([['retention:ret', '0 3 * * *']]);
  expect(projectSchedules(compileProject(defineProject({ ...spec, sources: [batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' })], featureViews: [] })))).toEqual([]);
});

test("retention removes a service's serving-log drop records with the rows of their period, keeps newer ones and lines it cannot read", async () => {
  const served = defineProject({ ...spec, featureServices: [featureService({ name: 'svc', features: [stats] })] });
  const t = await tempPlatform(served, T0);
  cleanup.push(t.dispose);
  const { platform, project } = t;
  const record = (day: number) => ({ service: 'svc', from: T0 + day * DAY, to: T0 + day * DAY + 1000, bufferFull: day, writeFailed: 0 });
  await appendDropRecords(platform.dataDir, [record(20), record(34), record(36)]);
  appendFileSync(join(servingLogDir(platform.dataDir, 'svc'), 'drops.ndjson'), '{"service":"svc","fr\n');
  t.clock.now = T0 + 45 * DAY; // the view's cutoff: day 35

  const dry = await runRetention(platform, project, { principal, dryRun: true });
  expect(dry.dropRecords).toEqual([{ service: 'svc', cutoff: T0 + 35 * DAY, records: 2 }]);
  expect((await servingLogDrops(platform.dataDir, { service: 'svc' })).bufferFull).toBe(20 + 34 + 36);

  expect((await runRetention(platform, project, { principal })).dropRecords).toEqual([{ service: 'svc', cutoff: T0 + 35 * DAY, records: 2 }]);
  expect(await servingLogDrops(platform.dataDir, { service: 'svc' })).toMatchObject({ bufferFull: 36, from: T0 + 36 * DAY });
  expect(readFileSync(join(servingLogDir(platform.dataDir, 'svc'), 'drops.ndjson'), 'utf8')).toContain('{"service":"svc","fr\n');
  expect((await runRetention(platform, project, { principal })).dropRecords).toEqual([]);
});

test('retention trims the drop records of serving-log directories of no service in the project (feature-list requests, a removed service) with the rows it removes from them', async () => {
  const t = await tempPlatform(spec, T0);
  cleanup.push(t.dispose);
  const { platform, project } = t;
  // Rows logged by feature list and by a service since removed from the project, on days 20 and 36.
  const removed = compileProject(defineProject({ ...spec, featureServices: [featureService({ name: 'gone', features: [stats], log: { sampleRate: 1 } })] }));
  const log = servingLogWriter({ dataDir: platform.dataDir, defaultRate: 1, flushIntervalMs: 3_600_000 });
  const answer = (at: number): OnlineFeaturesResponse => ({
    asOf: new Date(at).toISOString(), features: ['stats__n'], stale: 0, rows: [{ customer_id: 'c1', stats__n: 1 } as never], metadata: [{ status: ['PRESENT'], ageMs: [0] }],
    views: { stats: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: { txns: 'txns@1' } } },
  });
  for (const day of [20, 36]) {
    log.record(removed, { entities: {}, features: ['stats:n'] }, answer(T0 + day * DAY), `f${day}`, T0 + day * DAY);
    log.record(removed, { entities: {}, service: 'gone' }, answer(T0 + day * DAY), `g${day}`, T0 + day * DAY);
  }
  await log.close();
  const record = (service: string, day: number) => ({ service, from: T0 + day * DAY, to: T0 + day * DAY + 1000, bufferFull: day, writeFailed: 0 });
  await appendDropRecords(platform.dataDir, [UNNAMED_SERVICE, 'gone'].flatMap((s) => [record(s, 20), record(s, 34), record(s, 36)]));
  t.clock.now = T0 + 45 * DAY; // the view's cutoff: day 35

  const report = await runRetention(platform, project, { principal });
  expect(report.views).toEqual([expect.objectContaining({ view: 'stats', servedRows: 2 })]);
  expect(report.dropRecords).toEqual([{ service: UNNAMED_SERVICE, cutoff: T0 + 35 * DAY, records: 2 }, { service: 'gone', cutoff: T0 + 35 * DAY, records: 2 }]);
  for (const service of [UNNAMED_SERVICE, 'gone']) expect(await servingLogDrops(platform.dataDir, { service })).toMatchObject({ bufferFull: 36 });
  // An hour file the purge emptied is removed, not left at 0 bytes (review finding 13); the day-36 files stay.
  const files = [UNNAMED_SERVICE, 'gone'].flatMap((service) => readdirSync(join(servingLogDir(platform.dataDir), service)).filter((f) => f.endsWith('.jsonl')).map((f) => join(servingLogDir(platform.dataDir), service, f)));
  expect(files.map((f) => statSync(f).size > 0)).toEqual([true, true]);
});

describe('drop records name their views: retention removes them exactly with the rows they stand for', () => {
  const recent = featureView({ name: 'recent', entity: customer, source: txns, features: { n: count() }, retention: '10d' });
  const longer = featureView({ name: 'longer', entity: customer, source: txns, features: { n: count() }, retention: '20d' });
  const kept = featureView({ name: 'kept', entity: customer, source: txns, features: { n: count() } });
  const views = defineProject({ name: 'ret', entities: [customer], sources: [txns], featureViews: [recent, longer, kept], featureServices: [featureService({ name: 'svc', features: [recent, kept], log: { sampleRate: 1 } })] });
  const answer = (at: number, view: string, rows = 1): OnlineFeaturesResponse => ({
    asOf: new Date(at).toISOString(), features: [`${view}__n`], stale: 0,
    rows: Array.from({ length: rows }, (_v, r) => ({ customer_id: `c${r}`, [`${view}__n`]: 1 }) as never), metadata: Array.from({ length: rows }, () => ({ status: ['PRESENT'], ageMs: [0] })),
    views: { [view]: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: { txns: 'txns@1' } } },
  });
  const records = async (dataDir: string, service: string) => readFileSync(join(servingLogDir(dataDir, service), 'drops.ndjson'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { from: number; views?: string[][] });

  test('a feature-list record whose rows are all gone leaves with them (the earliest cutoff of the directory is not its rule)', async () => {
    const t = await tempPlatform(views, T0);
    cleanup.push(t.dispose);
    const { platform, project } = t;
    // A buffer of one row: the second row of a request is dropped, recorded with the views it answered.
    const log = servingLogWriter({ dataDir: platform.dataDir, defaultRate: 1, maxBufferedRows: 1, flushIntervalMs: 3_600_000 });
    log.record(project, { entities: {}, features: ['recent:n'] }, answer(T0 + 30 * DAY, 'recent', 2), 'r30', T0 + 30 * DAY);
    await log.flush();
    log.record(project, { entities: {}, features: ['longer:n'] }, answer(T0 + 22 * DAY, 'longer'), 'l22', T0 + 22 * DAY);
    await log.close();
    expect((await records(platform.dataDir, UNNAMED_SERVICE)).map((r) => r.views)).toEqual([[['recent']]]);
    t.clock.now = T0 + 45 * DAY; // cutoffs: recent day 35, longer day 25 (the source's day 15)
    const report = await runRetention(platform, project, { principal });
    // Both rows are gone (recent's at day 30 < 35, longer's at day 22 < 25); so is the record of the row lost at day 30.
    expect(report.views.map((v) => [v.view, v.servedRows])).toEqual([['recent', 1], ['longer', 1]]);
    expect(report.dropRecords).toEqual([{ service: UNNAMED_SERVICE, cutoff: T0 + 35 * DAY, records: 1 }]);
    expect((await servingLogDrops(platform.dataDir)).rows).toBe(0);
  });

  test("a service's record of rows that answered only views without retention stays while those rows do (its service's views today are not its rule)", async () => {
    const t = await tempPlatform(views, T0);
    cleanup.push(t.dispose);
    const { platform, project } = t;
    // Served when `svc` answered `kept` only (an earlier definition): one row logged, one dropped.
    const earlier = compileProject(defineProject({ ...views, featureServices: [featureService({ name: 'svc', features: [kept], log: { sampleRate: 1 } })] }));
    const log = servingLogWriter({ dataDir: platform.dataDir, maxBufferedRows: 1, flushIntervalMs: 3_600_000 });
    log.record(earlier, { entities: {}, service: 'svc' }, answer(T0 + 20 * DAY, 'kept', 2), 'k20', T0 + 20 * DAY);
    await log.close();
    // An old record (no views) of the same day: trimmed as before, by the service's views' latest cutoff.
    await appendDropRecords(platform.dataDir, [{ service: 'svc', from: T0 + 20 * DAY, to: T0 + 20 * DAY, bufferFull: 5, writeFailed: 0 }]);
    t.clock.now = T0 + 45 * DAY;
    const report = await runRetention(platform, project, { principal });
    expect(report.views.map((v) => [v.view, v.servedRows])).toEqual([['recent', 0], ['longer', 0]]);
    expect(report.dropRecords).toEqual([{ service: 'svc', cutoff: T0 + 35 * DAY, records: 1 }]);
    expect(await records(platform.dataDir, 'svc')).toEqual([expect.objectContaining({ bufferFull: 1, views: [['kept']] })]);
  });

  test('a record of rows of several view lists leaves only once every list\'s rows are gone', async () => {
    const t = await tempPlatform(views, T0);
    cleanup.push(t.dispose);
    const { platform, project } = t;
    const at = T0 + 22 * DAY;
    await appendDropRecords(platform.dataDir, [
      // Rows of `recent` (gone at day 35) and of `kept` (never): the `kept` rows remain, so does the record.
      { service: UNNAMED_SERVICE, from: at, to: at, bufferFull: 2, writeFailed: 0, views: [['recent'], ['kept']] },
      // Rows of `recent` and of `longer` (gone at day 25): both gone, so is the record.
      { service: UNNAMED_SERVICE, from: at, to: at, bufferFull: 3, writeFailed: 0, views: [['recent'], ['longer']] },
    ]);
    t.clock.now = T0 + 45 * DAY;
    await runRetention(platform, project, { principal });
    expect(await records(platform.dataDir, UNNAMED_SERVICE)).toEqual([expect.objectContaining({ bufferFull: 2, views: [['recent'], ['kept']] })]);
  });
});

test('retention removes the serving log\'s unreadable lines and rows (a torn request line, a row this build cannot read) in files of hours that end before the earliest cutoff of the directory\'s views, and counts them', async () => {
  const kept = featureView({ name: 'kept', entity: customer, source: txns, features: { n: count() } });
  const t = await tempPlatform(defineProject({ ...spec, featureViews: [stats, kept], featureServices: [featureService({ name: 'svc', features: [stats] }), featureService({ name: 'both', features: [stats, kept] })] }), T0);
  cleanup.push(t.dispose);
  const { platform, project } = t;
  const names = '{"columns":"0123456789abcdef","names":["stats__n"]}';
  const head = (id: string, at: number) => `{"requestId":"${id}","service":"svc","joinKeys":["customer_id"],"asOf":"${new Date(at).toISOString()}","servedAt":${at},"views":{"stats":{"definitionHash":"h","snapshots":{}}},"columns":"0123456789abcdef","rows":[`;
  const file = (dir: string, at: number, lines: string[]) => {
    mkdirSync(servingLogDir(platform.dataDir, dir), { recursive: true });
    const path = join(servingLogDir(platform.dataDir, dir), `${new Date(at).toISOString().slice(0, 13)}.jsonl`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  const old = T0 + 34 * DAY + 23 * 3_600_000; // its hour ends at the cutoff, day 35
  const torn = (at: number) => `${head('t', at)}["c1",[1]],["c2",[`;
  const oldFile = file('svc', old, [names, torn(old), `${head('r', old)}["c3",[3],"?"],["c4",[4]]]}`]);
  const late = T0 + 35 * DAY;
  const lateLines = [names, torn(late)];
  const lateFile = file('svc', late, lateLines);
  // A directory whose service answers a view without retention: an unreadable line may be its, and stays.
  const keptFile = file('both', old, [names, torn(old)]);
  t.clock.now = T0 + 45 * DAY;

  const dry = await runRetention(platform, project, { principal, dryRun: true });
  expect([dry.views[0]!.servedRows, dry.servedUnreadable]).toEqual([1, 2]);
  const report = await runRetention(platform, project, { principal });
  expect([report.views[0]!.servedRows, report.servedUnreadable]).toEqual([1, 2]);
  expect(existsSync(oldFile)).toBe(false);
  expect(readFileSync(lateFile, 'utf8')).toBe(`${lateLines.join('\n')}\n`);
  expect(readFileSync(keptFile, 'utf8')).toBe(`${names}\n${torn(old)}\n`);
  expect((await runRetention(platform, project, { principal })).servedUnreadable).toBe(0);
});
