import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { batchSource, compileProject, count, entity, featureView, schedule, sqlTransform, type ProjectSpec, type ScheduleSpec } from '../src/definitions/index.js';
import { openPlatform, type Platform } from '../src/platform.js';
import { backfill } from '../src/orchestration/backfill.js';
import { systemClock, type SchedulerClock } from '../src/orchestration/clock.js';
import { newLeaseHolder } from '../src/orchestration/lease.js';
import { runKeyed } from '../src/orchestration/run-attempts.js';
import { runJobsInOrder, withUpstream, type JobContext } from '../src/orchestration/run-job.js';
import { trackRun } from '../src/orchestration/track-run.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { createScheduler } from '../src/orchestration/scheduler.js';
import { fakeClock } from './support/fake-clock.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const MINUTE = 60_000;
const DAY = 86_400_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({ name: 'payments', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/payments/*.csv' });
const doubled = sqlTransform({ name: 'doubled', inputs: [payments], sql: 'SELECT account_id, amount * 2 AS amount, ts FROM payments', timestamp: 'ts', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' } });
const looping = sqlTransform({ name: 'looping', inputs: [payments], sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT 'a' AS account_id, TIMESTAMP '2024-01-01' AS ts FROM r", timestamp: 'ts', schema: { account_id: 'string', ts: 'timestamp' } });
const spend = featureView({ name: 'spend', entity: account, source: payments, features: { n: count() } });
const doubledView = featureView({ name: 'doubled_view', entity: account, source: doubled, features: { n: count() } });
const spec = (schedules: readonly ScheduleSpec[] = []): ProjectSpec => ({
  kind: 'project', name: 'orch', entities: [account], sources: [payments], featureViews: [spend, doubledView], transforms: [doubled, looping], schedules,
});
const policy = { retries: 0, timeoutMs: 3_600_000, backoffBaseMs: 1_000, backoffMaxMs: 60_000 };

/** Retry waits pass at once; a run's timeout is a real (long) wait, ended when the run settles. */
const instantRetries: SchedulerClock = { now: () => T0, sleep: (ms, signal) => (ms >= policy.timeoutMs ? systemClock.sleep(ms, signal) : Promise.resolve()) };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(schedules: readonly ScheduleSpec[] = []) {
  const t = await tempPlatform(spec(schedules), T0);
  cleanups.push(t.dispose);
  mkdirSync(join(t.dir, 'data', 'payments'), { recursive: true });
  const file = (name: string, rows: string) => writeFileSync(join(t.dir, 'data', 'payments', name), rows === '' ? '' : `account_id,amount,ts\n${rows}`);
  const jc: JobContext = { ...t.platform, projectDir: t.dir };
  return { ...t, jc, file };
}

/** A second process's view of the same project directory. */
function secondPlatform(dir: string, schedules: readonly ScheduleSpec[]): Platform {
  const platform = openPlatform({ projectDir: dir, now: () => T0, threads: 1, projectSpec: spec(schedules) });
  cleanups.push(() => platform.close());
  return platform;
}

describe('the scheduler', () => {
  const every5 = [schedule({ job: 'materialize:spend', cron: '*/5 * * * *', timezone: 'Europe/Paris' })];

  test('two schedulers racing on one firing run it once: the run key is claimed before the run starts', async () => {
    const { platform, jc, dir } = await setup(every5);
    const other = secondPlatform(dir, every5);
    const clock = fakeClock(T0 + 1_000);
    const a = createScheduler(jc, { project: () => platform.project(), clock });
    const b = createScheduler({ ...other, projectDir: dir }, { project: () => other.project(), clock });
    expect(await a.tick()).toEqual([]);
    await clock.advance(5 * MINUTE);
    const started = (await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()])).flat();
    await Promise.all([a.idle(), b.idle()]);
    expect(started).toEqual(['materialize:spend@2026-01-05T10:05:00.000Z']);
    const runs = await platform.metadata.listRuns(100, { job: 'materialize:spend' });
    expect(runs.map((r) => [r.status, r.params.trigger, r.params.runKey, r.params.attempt])).toEqual([['succeeded', 'schedule', 'materialize:spend@2026-01-05T10:05:00.000Z', 1]]);
    expect(await platform.metadata.schedules.get(started[0]!)).toMatchObject({ status: 'succeeded', attempts: 1, lastRunId: runs[0]!.id, trigger: 'schedule', scheduledFor: T0 + 5 * MINUTE });
  });

  test('a restarted scheduler runs the latest missed firing of each schedule once, never the earlier ones, never twice', async () => {
    const { platform, jc } = await setup(every5);
    const clock = fakeClock(T0 + 1_000);
    expect(await createScheduler(jc, { project: () => platform.project(), clock }).tick()).toEqual([]);
    // The first scheduler dies; three firings pass (10:05, 10:10, 10:15).
    await clock.advance(17 * MINUTE);
    const restarted = createScheduler(jc, { project: () => platform.project(), clock });
    expect(await restarted.tick()).toEqual(['materialize:spend@2026-01-05T10:15:00.000Z']);
    expect(await restarted.tick()).toEqual([]);
    expect(await createScheduler(jc, { project: () => platform.project(), clock }).tick()).toEqual([]);
    await restarted.idle();
    expect((await platform.metadata.listRuns(100, { job: 'materialize:spend' })).map((r) => r.params.runKey)).toEqual(['materialize:spend@2026-01-05T10:15:00.000Z']);
  });

  test('a failed run is retried after an exponential, fully jittered backoff; job_failed fires, then the success clears it', async () => {
    const schedules = [schedule({ job: 'ingest:payments', cron: '* * * * *', retries: 2, backoff: { base: '1s', max: '1m' } })];
    const { platform, jc, file } = await setup(schedules);
    file('2026-01-01.csv', '');
    const clock = fakeClock(T0);
    // Half of the jitter range: attempt 2 waits 0.5 x min(1m, 1s x 2^0) = 500 ms. The export is fixed meanwhile.
    clock.onSleep = (ms) => ms === 500 && file('2026-01-01.csv', 'a1,10,2026-01-01T00:00:00Z\n');
    const scheduler = createScheduler(jc, { project: () => platform.project(), clock, random: () => 0.5 });
    await scheduler.tick();
    await clock.advance(MINUTE);
    expect(await scheduler.tick()).toEqual(['ingest:payments@2026-01-05T10:01:00.000Z']);
    await clock.waitForSleep(500);
    const firing = await platform.metadata.health.list({ kind: 'job_failed' });
    expect(firing).toEqual([expect.objectContaining({ subject: 'job:ingest:payments', firing: true, severity: 'error', message: expect.stringContaining('is empty') })]);
    await clock.advance(500);
    const [outcome] = await scheduler.idle();
    expect(outcome).toMatchObject({ status: 'succeeded', attempts: 2 });
    const runs = (await platform.metadata.listRuns(100, { job: 'ingest:payments' })).reverse();
    expect(runs.map((r) => [r.params.attempt, r.status, r.params.runKey])).toEqual([[1, 'failed', 'ingest:payments@2026-01-05T10:01:00.000Z'], [2, 'succeeded', 'ingest:payments@2026-01-05T10:01:00.000Z']]);
    expect(runs[0]!.error).toContain('2026-01-01.csv is empty');
    expect(runs[1]!.stats).toMatchObject({ rowsIn: 1, rowsOut: 1, snapshotsRead: { payments: null }, snapshotsWritten: [expect.stringMatching(/^payments@1-/)] });
    expect((await platform.metadata.health.listAlerts(10)).map((a) => [a.transition, a.condition.subject]).reverse()).toEqual([['fired', 'job:ingest:payments'], ['resolved', 'job:ingest:payments']]);
  });

  test('a scheduler stopped while a firing waits for its retry ends the firing interrupted: no new attempt starts, the key is settled', async () => {
    const schedules = [schedule({ job: 'ingest:payments', cron: '* * * * *', retries: 5, backoff: { base: '1s', max: '1s' } })];
    const { platform, jc, file } = await setup(schedules);
    file('2026-01-01.csv', '');
    const clock = fakeClock(T0);
    const scheduler = createScheduler(jc, { project: () => platform.project(), clock, random: () => 0.5 });
    await scheduler.tick();
    await clock.advance(MINUTE);
    const [key] = await scheduler.tick();
    await clock.waitForSleep(500);
    let stopped = false;
    const stopping = scheduler.stop({ reason: 'SIGTERM', signal: 'SIGTERM' }).then(() => (stopped = true));
    await vi.waitFor(() => expect(stopped).toBe(true), { timeout: 10_000 });
    await stopping;
    const runs = await platform.metadata.listRuns(100, { job: 'ingest:payments' });
    expect(runs.map((r) => [r.params.attempt, r.status])).toEqual([[1, 'failed']]);
    expect(await platform.metadata.schedules.get(key!)).toMatchObject({ status: 'failed', attempts: 1, finishedAt: expect.any(Number), error: expect.stringContaining('the scheduler stopped before the run finished (SIGTERM)') });
  });

  test('an onNewSnapshot trigger runs its job once per new snapshot of the source', async () => {
    const schedules = [schedule({ job: spend, onNewSnapshot: payments })];
    const { platform, jc, file } = await setup(schedules);
    const clock = fakeClock(T0);
    const scheduler = createScheduler(jc, { project: () => platform.project(), clock });
    expect(await scheduler.tick()).toEqual([]);
    file('2026-01-01.csv', 'a1,10,2026-01-01T00:00:00Z\n');
    const project = await platform.project();
    const [ingested] = (await runJobsInOrder(jc, project, withUpstream(project, 'ingest:payments'))).ran;
    const snapshot = ingested!.stats.snapshotsWritten[0]!;
    expect(await scheduler.tick()).toEqual([`materialize:spend@${snapshot}`]);
    expect(await scheduler.tick()).toEqual([]);
    await scheduler.idle();
    expect((await platform.metadata.listRuns(100, { job: 'materialize:spend' })).map((r) => [r.params.trigger, r.status])).toEqual([['trigger', 'succeeded']]);
  });
});

describe('timeouts', () => {
  test('a run past its timeout is failed ("timed out after 10m"), its DuckDB work interrupted, job_hung reported; no run is left running', async () => {
    const { platform, jc } = await setup();
    const clock = fakeClock(T0);
    const project = await platform.project();
    const key = 'transform:looping@2026-01-05T10:00:00.000Z';
    const outcome = runKeyed(jc, project, 'transform:looping', { claim: { key, job: 'transform:looping', trigger: 'schedule', holder: newLeaseHolder() }, policy: { ...policy, timeoutMs: 600_000 }, clock });
    await clock.waitForSleep(600_000);
    // The transform's own run has started (its query runs until stopped).
    await vi.waitFor(async () => expect(await platform.metadata.listRuns(10, { job: 'transform', status: 'running' })).toHaveLength(1), { timeout: 30_000 });
    await clock.advance(600_000);
    expect(await outcome).toMatchObject({ status: 'failed', attempts: 1, error: { message: 'timed out after 10m' } });
    await vi.waitFor(async () => expect(await platform.metadata.listRuns(10, { status: 'running' })).toEqual([]), { timeout: 30_000 });
    const runs = await platform.metadata.listRuns(10);
    expect(runs.map((r) => [r.job, r.status, r.error])).toEqual(expect.arrayContaining([['transform:looping', 'failed', 'timed out after 10m'], ['transform', 'failed', 'timed out after 10m']]));
    expect(runs.find((r) => r.job === 'transform:looping')!.stats).toMatchObject({ errorCode: 'TIMED_OUT' });
    expect(await platform.metadata.health.list({ firing: true })).toEqual([expect.objectContaining({ kind: 'job_hung', subject: 'job:transform:looping', severity: 'error', message: expect.stringContaining('timed out after 10m') })]);
    expect(await platform.metadata.schedules.get(key)).toMatchObject({ status: 'failed', error: 'timed out after 10m' });
  });
});

describe('health of every run', () => {
  test('a run started outside the scheduler (as the CLI does) reports job_failed on its job\'s subject; a run whose process died does too', async () => {
    const { platform, project } = await setup();
    await expect(runTransform(platform, project, 'looping', { timeoutMs: 50 })).rejects.toThrow('did not finish within its time limit');
    expect(await platform.metadata.health.list({ firing: true })).toEqual([expect.objectContaining({ kind: 'job_failed', subject: 'job:transform:looping', message: expect.stringContaining('did not finish within its time limit') })]);
    // A run held by a process that no longer exists on this host: the next run marks it failed and reports it.
    await platform.metadata.startRun('materialize', { views: ['spend'] }, { holder: { id: 'gone', host: hostname(), pid: 2 ** 22 + 17 }, ttlMs: 60_000 });
    await trackRun(platform, 'noop', {}, async () => ({ result: null, stats: {} }));
    expect((await platform.metadata.health.list({ firing: true })).map((c) => [c.kind, c.subject])).toEqual(expect.arrayContaining([['job_failed', 'job:materialize:spend']]));
  });
});

describe('dependencies', () => {
  test('a job runs after its upstream, in order; after a failure its downstream does not run', async () => {
    const { platform, jc, file } = await setup();
    const project = await platform.project();
    expect(withUpstream(project, 'materialize:doubled_view').map((j) => j.name)).toEqual(['ingest:payments', 'transform:doubled', 'materialize:doubled_view']);
    file('2026-01-01.csv', 'a1,10,2026-01-01T00:00:00Z\na2,5,2026-01-01T00:00:00Z\n');
    const ok = await runJobsInOrder(jc, project, withUpstream(project, 'materialize:doubled_view'));
    expect(ok.ran.map((r) => [r.job, r.stats.rowsOut])).toEqual([['ingest:payments', 2], ['transform:doubled', 2], ['materialize:doubled_view', 2]]);
    expect(ok.ran[1]!.stats.snapshotsRead).toEqual({ payments: ok.ran[0]!.stats.snapshotsWritten[0] });
    file('2026-01-02.csv', '');
    const failed = await runJobsInOrder(jc, project, withUpstream(project, 'materialize:doubled_view'));
    expect(failed).toMatchObject({ ran: [], failed: { job: 'ingest:payments' }, notRun: ['transform:doubled', 'materialize:doubled_view'] });
    expect((await platform.metadata.listRuns(100, { job: 'transform:doubled' })).length).toBe(1);
    expect((await platform.metadata.listRuns(100, { job: 'materialize:doubled_view' })).length).toBe(1);
  });

  test('a transform job records the rows its run read (rowsIn), and none for a run that was up to date', async () => {
    const { platform, jc, file } = await setup();
    const project = await platform.project();
    file('2026-01-01.csv', 'a1,10,2026-01-01T00:00:00Z\na2,5,2026-01-01T00:00:00Z\n');
    file('2026-01-02.csv', 'a1,1,2026-01-02T00:00:00Z\n');
    const ok = await runJobsInOrder(jc, project, withUpstream(project, 'transform:doubled'));
    expect(ok.ran.map((r) => [r.job, r.stats.rowsIn, r.stats.rowsOut])).toEqual([['ingest:payments', 3, 3], ['transform:doubled', 3, 3]]);
    const [run] = await platform.metadata.listRuns(1, { job: 'transform:doubled' });
    expect(run!.stats).toMatchObject({ rowsIn: 3, rowsOut: 3 });
    const again = await runJobsInOrder(jc, project, withUpstream(project, 'transform:doubled'));
    expect(again.ran[1]!.stats).toMatchObject({ rowsIn: 0, rowsOut: 0, upToDate: true });
  });
});

describe('backfills', () => {
  test('each partition is a keyed run of its own, retried on its own; running the backfill again resumes: done partitions are skipped', async () => {
    const { platform, jc, file } = await setup();
    file('2026-01-01.csv', 'a1,1,2026-01-01T00:00:00Z\n');
    file('2026-01-02.csv', '');
    file('2026-01-03.csv', 'a1,3,2026-01-03T00:00:00Z\na2,3,2026-01-03T00:00:00Z\n');
    const project = await platform.project();
    const progress: string[] = [];
    const options = {
      from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 4), partitionMs: DAY, policy: { ...policy, retries: 1 }, clock: instantRetries,
      onProgress: (p: { done: number; failed: number; skipped: number; total: number }) => progress.push(`${p.done}+${p.skipped}/${p.total} ${p.failed} failed`),
    };
    const first = await backfill(jc, project, 'ingest:payments', options);
    expect(first).toMatchObject({ total: 3, done: 2, failed: 1, skipped: 0 });
    expect(first.partitions.map((p) => [p.start.slice(0, 10), p.status, p.attempts])).toEqual([['2026-01-01', 'succeeded', 1], ['2026-01-02', 'failed', 2], ['2026-01-03', 'succeeded', 1]]);
    expect(progress).toEqual(['1+0/3 0 failed', '1+0/3 1 failed', '2+0/3 1 failed']);
    const runs = (await platform.metadata.listRuns(100, { job: 'ingest:payments' })).reverse();
    expect(runs.map((r) => [r.params.partition, r.status, r.stats?.rowsOut ?? null])).toEqual([
      [{ start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' }, 'succeeded', 1],
      [{ start: '2026-01-02T00:00:00.000Z', end: '2026-01-03T00:00:00.000Z' }, 'failed', null],
      [{ start: '2026-01-02T00:00:00.000Z', end: '2026-01-03T00:00:00.000Z' }, 'failed', null],
      [{ start: '2026-01-03T00:00:00.000Z', end: '2026-01-04T00:00:00.000Z' }, 'succeeded', 2],
    ]);
    file('2026-01-02.csv', 'a3,2,2026-01-02T00:00:00Z\n');
    progress.length = 0;
    const again = await backfill(jc, project, 'ingest:payments', options);
    expect(again).toMatchObject({ total: 3, done: 1, failed: 0, skipped: 2 });
    expect(again.partitions.map((p) => p.status)).toEqual(['skipped', 'succeeded', 'skipped']);
    expect(await platform.metadata.schedules.get(again.partitions[1]!.key)).toMatchObject({ status: 'succeeded', attempts: 3, trigger: 'backfill' });
    expect((await platform.metadata.latestSnapshot('payments'))!.rowCount).toBe(4);
    // A file that arrives for a done partition is named: the partition is not run again.
    file('2026-01-03b.csv', 'a4,3,2026-01-03T05:00:00Z\n');
    const late = await backfill(jc, project, 'ingest:payments', options);
    expect(late.partitions.map((p) => [p.status, p.notIngested])).toEqual([['skipped', undefined], ['skipped', undefined], ['skipped', ['data/payments/2026-01-03b.csv']]]);
  });

  test('a file under a dated directory is in the partition of its day (dt=, YYYY/MM/DD, a dated directory); a file with no date is named as in no partition', async () => {
    const events = batchSource({ name: 'events', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/events/**/*.csv' });
    const t = await tempPlatform({ kind: 'project', name: 'dated', entities: [account], sources: [events], featureViews: [] }, T0);
    cleanups.push(t.dispose);
    const rows = { 'dt=2026-01-01/part-0.csv': 'a1,1,2026-01-01T01:00:00Z\n', '2026/01/02/x.csv': 'a1,2,2026-01-02T01:00:00Z\n', '2026-01-03/x.csv': 'a1,3,2026-01-03T01:00:00Z\n', 'events_2026_01_03.csv': 'a2,3,2026-01-03T02:00:00Z\n', 'latest.csv': 'a3,9,2026-01-02T00:00:00Z\n' };
    for (const [path, body] of Object.entries(rows)) {
      mkdirSync(join(t.dir, 'data', 'events', path, '..'), { recursive: true });
      writeFileSync(join(t.dir, 'data', 'events', path), `account_id,amount,ts\n${body}`);
    }
    const result = await backfill({ ...t.platform, projectDir: t.dir }, await t.platform.project(), 'ingest:events', { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 4), partitionMs: DAY, policy });
    expect(result).toMatchObject({ done: 3, failed: 0, undatedFiles: ['data/events/latest.csv'] });
    const runs = (await t.platform.metadata.listRuns(100, { job: 'ingest:events' })).reverse();
    expect(runs.map((r) => [(r.params.partition as { start: string }).start.slice(0, 10), r.stats?.filesIngested])).toEqual([['2026-01-01', 1], ['2026-01-02', 1], ['2026-01-03', 2]]);
    expect((await t.platform.metadata.latestSnapshot('events'))!.rowCount).toBe(4);
  });

  test('--rerun runs a done partition again after a fix: its rows are replaced, never doubled, recorded as a re-run; a re-run that fails before its commit leaves the earlier rows', async () => {
    const { platform, jc, file } = await setup();
    file('2026-01-01.csv', 'a1,1,2026-01-01T00:00:00Z\na2,2.5,2026-01-01T01:00:00Z\n');
    file('2026-01-02.csv', 'a3,3,2026-01-02T00:00:00Z\n');
    // Before the fix the source typed amount as int64: 2.5 went to the dead letters.
    const broken = compileProject({ ...spec(), sources: [batchSource({ ...payments, schema: { ...payments.schema, amount: 'int64' } })], featureViews: [], transforms: [] });
    const fixed = await platform.project();
    const range = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 3), partitionMs: DAY, policy, clock: instantRetries };
    expect(await backfill(jc, broken, 'ingest:payments', range)).toMatchObject({ done: 2, rerun: false });
    const lake = async () => {
      const snapshot = (await platform.metadata.latestSnapshot('payments'))!;
      const files = snapshot.files.map((f) => `'${platform.lake.resolve(f)}'`).join(', ');
      const rows = await (await platform.engine()).all<{ id: string; amount: number }>(`SELECT account_id AS id, CAST(amount AS DOUBLE) AS amount FROM read_parquet([${files}], union_by_name = true) ORDER BY 1`);
      return { rowCount: snapshot.rowCount, files: snapshot.files, rows: rows.map((r) => `${r.id}=${r.amount}`) };
    };
    expect((await lake()).rows).toEqual(['a1=1', 'a3=3']);
    // Without --rerun the done partitions are skipped: their content was ingested.
    expect(await backfill(jc, fixed, 'ingest:payments', range)).toMatchObject({ done: 0, skipped: 2 });
    const firstDay = { ...range, to: Date.UTC(2026, 0, 2), rerun: true };
    const rerun = await backfill(jc, fixed, 'ingest:payments', firstDay);
    expect(rerun).toMatchObject({ total: 1, done: 1, skipped: 0, failed: 0, rerun: true });
    expect(await lake()).toMatchObject({ rowCount: 3, rows: ['a1=1', 'a2=2.5', 'a3=3'] });
    const [last] = await platform.metadata.listRuns(1, { job: 'ingest:payments' });
    expect(last).toMatchObject({ status: 'succeeded', params: { trigger: 'backfill', rerun: true, partition: { start: '2026-01-01T00:00:00.000Z' } } });
    expect(await platform.metadata.schedules.get(rerun.partitions[0]!.key)).toMatchObject({ status: 'succeeded', attempts: 2 });
    // A re-run of the re-run replaces it in turn.
    await backfill(jc, fixed, 'ingest:payments', firstDay);
    const before = await lake();
    expect(before).toMatchObject({ rowCount: 3, rows: ['a1=1', 'a2=2.5', 'a3=3'] });
    // Its lake files written, the re-run fails before its commit: the earlier rows stay, whole.
    const off = onTestPause('ingest.committing', () => {
      throw new Error('the disk went away');
    });
    try {
      expect(await backfill(jc, fixed, 'ingest:payments', firstDay)).toMatchObject({ done: 0, failed: 1 });
    } finally {
      off();
    }
    expect(await lake()).toEqual(before);
  });

  test('--rerun of a source with an eventId: the rows it replaces are not duplicates of its own rows (they are not lost)', async () => {
    const events = batchSource({ name: 'events', schema: { id: 'string', account_id: 'string', ts: 'timestamp' }, timestamp: 'ts', eventId: 'id', path: 'data/events/*.csv' });
    const t = await tempPlatform({ kind: 'project', name: 'ids', entities: [account], sources: [events], featureViews: [] }, T0);
    cleanups.push(t.dispose);
    mkdirSync(join(t.dir, 'data', 'events'), { recursive: true });
    writeFileSync(join(t.dir, 'data', 'events', '2026-01-01.csv'), 'id,account_id,ts\ne1,a1,2026-01-01T00:00:00Z\ne2,a1,2026-01-01T01:00:00Z\n');
    const jc = { ...t.platform, projectDir: t.dir };
    const range = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 2), partitionMs: DAY, policy };
    await backfill(jc, t.project, 'ingest:events', range);
    const first = (await t.platform.metadata.latestSnapshot('events'))!;
    expect(await backfill(jc, t.project, 'ingest:events', { ...range, rerun: true })).toMatchObject({ done: 1 });
    const [run] = await t.platform.metadata.listRuns(1, { job: 'ingest:events' });
    expect(run!.stats).toMatchObject({ rowsOut: 2 });
    const after = (await t.platform.metadata.latestSnapshot('events'))!;
    expect(after).toMatchObject({ rowCount: 2, version: first.version + 1 });
    expect(after.files.some((f) => first.files.includes(f))).toBe(false);
  });

  test('only jobs that take partitions can be backfilled; an empty range is refused', async () => {
    const { platform, jc } = await setup();
    const project = await platform.project();
    await expect(backfill(jc, project, 'materialize:spend', { from: 0, to: DAY, partitionMs: DAY, policy })).rejects.toThrow('job "materialize:spend" cannot be backfilled by partition');
    await expect(backfill(jc, project, 'ingest:payments', { from: DAY, to: DAY, partitionMs: DAY, policy })).rejects.toThrow('backfill range is empty');
  });
});
