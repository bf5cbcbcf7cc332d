import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { batchSource, count, dataset, defineProject, entity, featureView, schedule } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { newLeaseHolder } from '../src/orchestration/lease.js';
import { runKeyed } from '../src/orchestration/run-attempts.js';
import { createScheduler } from '../src/orchestration/scheduler.js';
import type { JobContext } from '../src/orchestration/run-job.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { InterruptedError } from '../src/errors.js';
import { fakeClock, type FakeClock } from './support/fake-clock.js';
import { tempPlatform } from './support/temp-platform.js';

// A job stopped (a stopping scheduler, a revoked key) or past its timeout: its run record says
// what happened to its work. Work stopped before its commit point commits nothing and fails;
// work past it finishes, and its run says it succeeded.
const DAY = 86_400_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');
const TIMEOUT = 600_000;
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', retention: '30d' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const train = dataset({ name: 'train', features: ['stats:n'], spine: 'spine.csv', out: 'out/train.csv' });
const spec = defineProject({ name: 'stop', entities: [customer], sources: [txns], featureViews: [stats], datasets: [train], schedules: [schedule({ job: 'materialize:stats', cron: '*/5 * * * *' })] });

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const t = await tempPlatform(spec, T0 + 45 * DAY);
  cleanup.push(t.dispose);
  writeFileSync(join(t.dir, 'a.csv'), 'customer_id,ts\nold,2024-01-01T00:00:00Z\nnew,2024-02-14T00:00:00Z\n');
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'a.csv'));
  await materialize(t.platform, t.project);
  writeFileSync(join(t.dir, 'spine.csv'), 'customer_id,ts\nnew,2024-02-14T12:00:00Z\n');
  const jc: JobContext = { ...t.platform, projectDir: t.dir };
  const clock = fakeClock(T0 + 45 * DAY);
  /** Runs `job` as a scheduler does (one attempt, the timeout on `clock`), stopped by `signal`. */
  const keyed = (job: string, signal?: AbortSignal) =>
    runKeyed(jc, t.project, job, {
      claim: { key: `${job}@1`, job, trigger: 'schedule', holder: newLeaseHolder() },
      policy: { retries: 0, timeoutMs: TIMEOUT, backoffBaseMs: 1_000, backoffMaxMs: 60_000 }, clock,
      ...(signal ? { signal } : {}),
    });
  /** The run records once no run is running (work a stop left behind has ended). */
  const settledRuns = async () => {
    await vi.waitFor(async () => expect(await t.platform.metadata.listRuns(20, { status: 'running' })).toEqual([]), { timeout: 30_000 });
    return t.platform.metadata.listRuns(20);
  };
  return { ...t, jc, clock, keyed, settledRuns };
}

/** Stops the work at `step`: with a signal (as a stopping scheduler), or by moving the clock past the timeout. */
function stopAt(step: string, how: 'signal' | 'timeout', clock: FakeClock): AbortSignal {
  const stop = new AbortController();
  cleanup.push(onTestPause(step, () => (how === 'signal' ? stop.abort(new InterruptedError('INTERRUPTED', 'the scheduler stopped before the run finished')) : clock.advance(TIMEOUT))));
  return stop.signal;
}

describe.each(['signal', 'timeout'] as const)('a job stopped by a %s', (how) => {
  test('a retention stopped after its purge committed succeeds, as its purge did: no failure is reported, and the scrub it skipped is pending (a warning)', async () => {
    const { keyed, clock, settledRuns, platform } = await setup();
    const outcome = await keyed('retention:stop', stopAt('retention.purged', how, clock));
    const runs = await settledRuns();
    expect(outcome).toMatchObject({ status: 'succeeded', stats: { removedRows: 2 } });
    // The row before the cutoff left the lake (and its entity the online table): what the run says it did.
    expect((await platform.metadata.latestSnapshot('txns'))!.rowCount).toBe(1);
    expect(runs.filter((r) => r.job.startsWith('retention')).map((r) => [r.job, r.status]).sort()).toEqual([['retention', 'succeeded'], ['retention:stop', 'succeeded']]);
    expect(runs.find((r) => r.job === 'retention:stop')!.stats).toMatchObject({ removedRows: 2, stopRequested: how === 'signal' ? 'the scheduler stopped before the run finished' : 'timed out after 10m' });
    expect((await platform.metadata.audit.list()).filter((r) => r.action === 'retention.run').map((r) => r.outcome)).toEqual(['succeeded']);
    // The scrub of removed bytes is clean-up past the commit: the stop skips it, and it says so until the next run.
    expect((await platform.metadata.health.list({ firing: true })).map((c) => [c.kind, c.subject, c.severity])).toEqual([['scrub_pending', 'store:online', 'warn']]);
  });

  test('a dataset build stopped before it publishes commits nothing: no file, no manifest, no record, and its runs failed with the reason', async () => {
    const { keyed, clock, settledRuns, platform, dir } = await setup();
    const outcome = await keyed('dataset:train', stopAt('dataset.staged', how, clock));
    const runs = await settledRuns();
    const reason = how === 'signal' ? 'the scheduler stopped before the run finished' : 'timed out after 10m';
    expect(outcome).toMatchObject({ status: 'failed', error: { message: reason } });
    expect(existsSync(join(dir, 'out', 'train.csv'))).toBe(false);
    expect(existsSync(join(dir, 'out', 'train.csv.manifest.json'))).toBe(false);
    expect(await platform.metadata.listDatasets(10)).toEqual([]);
    expect(runs.filter((r) => r.job === 'dataset:train' || r.job === 'dataset_build').map((r) => [r.job, r.status, r.error]).sort()).toEqual([['dataset:train', 'failed', reason], ['dataset_build', 'failed', reason]]);
  });

  test('a dataset build stopped after it published finishes its manifest and record: its runs succeeded, and the dataset is listed', async () => {
    const { keyed, clock, settledRuns, platform, dir } = await setup();
    const outcome = await keyed('dataset:train', stopAt('dataset.manifest-written', how, clock));
    const runs = await settledRuns();
    expect(outcome).toMatchObject({ status: 'succeeded' });
    expect(existsSync(join(dir, 'out', 'train.csv'))).toBe(true);
    expect(existsSync(join(dir, 'out', 'train.csv.manifest.json'))).toBe(true);
    expect(await platform.metadata.listDatasets(10)).toHaveLength(1);
    expect(runs.filter((r) => r.job === 'dataset:train' || r.job === 'dataset_build').map((r) => [r.job, r.status]).sort()).toEqual([['dataset:train', 'succeeded'], ['dataset_build', 'succeeded']]);
  });

  test('a materialize stopped before it switches its view in leaves the view served before, and its runs failed with the reason', async () => {
    const { keyed, clock, settledRuns, platform } = await setup();
    const before = (await (await platform.online()).viewInfo('stats'))!;
    const outcome = await keyed('materialize:stats', stopAt('materialize.snapshot-read', how, clock));
    const runs = await settledRuns();
    const reason = how === 'signal' ? 'the scheduler stopped before the run finished' : 'timed out after 10m';
    expect(outcome).toMatchObject({ status: 'failed', error: { message: reason } });
    expect((await (await platform.online()).viewInfo('stats'))!.generation).toBe(before.generation);
    const code = how === 'signal' ? 'INTERRUPTED' : 'TIMED_OUT';
    // The setup's own materialize succeeded; the stopped one's run and its job's run failed.
    expect(runs.filter((r) => r.job.startsWith('materialize') && r.status === 'failed').map((r) => [r.job, r.error, r.stats?.errorCode]).sort()).toEqual([['materialize', reason, code], ['materialize:stats', reason, code]]);
  });
});

test('a scheduler stopped while its materialize runs (its key refused) fails the job and the materialize as INTERRUPTED naming why, as their condition does: never as a storage fault', async () => {
  const { jc, project, clock, settledRuns, platform } = await setup();
  const scheduler = createScheduler(jc, { project: () => Promise.resolve(project), clock, random: () => 0 });
  await scheduler.tick();
  let stopping: Promise<void> | undefined;
  // The scheduler's process learns its key was revoked while the materialize runs (stop awaits the run: not awaited here).
  cleanup.push(onTestPause('materialize.snapshot-read', () => void (stopping = scheduler.stop({ reason: 'its key was refused: revoked' }))));
  clock.time += 5 * 60_000;
  expect(await scheduler.tick()).toEqual([expect.stringMatching(/^materialize:stats@/)]);
  await vi.waitFor(() => expect(stopping).toBeDefined(), { timeout: 30_000 });
  await stopping;
  const runs = await settledRuns();
  const reason = 'the scheduler stopped before the run finished (its key was refused: revoked)';
  expect(runs.filter((r) => r.status === 'failed').map((r) => [r.job, r.error, r.stats?.errorCode]).sort()).toEqual([['materialize', reason, 'INTERRUPTED'], ['materialize:stats', reason, 'INTERRUPTED']]);
  const firing = await platform.metadata.health.list({ firing: true });
  expect(firing.map((c) => [c.kind, c.subject])).toEqual([['job_failed', 'job:materialize:stats']]);
  expect(firing[0]!.message).toContain(reason);
  expect(JSON.stringify(firing[0])).not.toMatch(/ADAPTER_FAILED|INTERRUPT Error/);
});
