import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { newLeaseHolder } from '../src/orchestration/lease.js';
import { partitionKey } from '../src/orchestration/backfill.js';
import { openPlatform } from '../src/platform.js';
import { sluice } from './support/cli.js';
import { startSluice } from './support/sluice-process.js';
import { sluiceKilledAt, snapshotRows } from './support/killed-cli.js';

const config = `import { defineProject, entity, batchSource, featureView, count, sum, schedule } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = batchSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/payments/*.csv' });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count(), total: sum('amount') } });
export default defineProject({ name: 'orch', entities: [customer], sources: [payments], featureViews: [stats],
  schedules: [schedule({ job: stats, onNewSnapshot: payments, retries: 1, timeout: '10m' }), schedule({ job: 'ingest:payments', cron: '0 2 * * *', timezone: 'Europe/Paris' })] });
`;

interface RunRow { job: string; status: string; trigger: string | null; params?: Record<string, unknown>; runKey: string | null; attempt: number | null; error: string | null; rowsIn: number | null; rowsOut: number | null; snapshotsWritten: string[] | null }

let root: string;
let dir: string;
const file = (name: string, rows: string) => writeFileSync(join(dir, 'data', 'payments', name), rows === '' ? '' : `customer_id,amount,ts\n${rows}`);
const runs = (...args: string[]) => sluice(dir, 'runs', '--json', ...args).json<{ runs: RunRow[] }>().runs;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-orch-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), config);
  mkdirSync(join(dir, 'data', 'payments'), { recursive: true });
  file('2026-01-01.csv', 'c1,10,2026-01-01T00:00:00Z\nc2,5,2026-01-01T01:00:00Z\n');
  file('2026-01-02.csv', 'c1,7,2026-01-02T00:00:00Z\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sluice run, runs, backfill and scheduler, end to end', () => {
  test('apply shows the schedules; run --with-upstream runs the ingest job then the materialize job', () => {
    const apply = sluice(dir, 'apply');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('+ schedule materialize:stats on new snapshot of payments');
    const run = sluice(dir, 'run', 'materialize:stats', '--with-upstream', '--json');
    expect(run.code).toBe(0);
    const ran = run.json<{ ran: { job: string; stats: { rowsIn: number; rowsOut: number; snapshotsWritten: string[] } }[] }>().ran;
    expect(ran.map((r) => [r.job, r.stats.rowsIn, r.stats.snapshotsWritten.length])).toEqual([['ingest:payments', 3, 2], ['materialize:stats', 3, 0]]);
    expect(sluice(dir, 'get', '--entity', 'customer_id=c1', '--features', 'stats:n', '--json').json<{ rows: { stats__n: number }[] }>().rows[0]!.stats__n).toBe(2);
  });

  test('a failed upstream job stops the run: its downstream is not run, the exit code is 1, and runs --failed shows the error', () => {
    file('2026-01-03.csv', '');
    const run = sluice(dir, 'run', 'materialize:stats', '--with-upstream');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ingest:payments: FAILED');
    expect(run.stdout).toContain('2026-01-03.csv is empty');
    expect(run.stdout).toContain('not run, downstream of the failure: materialize:stats');
    const failed = runs('--failed');
    expect(failed.map((r) => [r.job, r.trigger])).toEqual([['ingest:payments', 'manual']]);
    expect(failed[0]!.error).toContain('is empty');
    expect(runs('--job', 'materialize:stats')).toHaveLength(1);
    const human = sluice(dir, 'runs', '--failed');
    expect(human.stdout).toContain('FAILED');
    // Audited as failed although the command reported the failure itself (exit code 1, no exception).
    const audited = sluice(dir, '--json', 'audit', 'list', '--action', 'job.run').json<{ records: Array<{ target: string; outcome: string; details: Record<string, unknown> }> }>().records;
    expect(audited.map((r) => [r.target, r.outcome, r.details.failed])).toEqual([
      ['job:materialize:stats', 'failed', { job: 'ingest:payments', error: 'VALIDATION_FAILED' }],
      ['job:materialize:stats', 'succeeded', null],
    ]);
    rmSync(join(dir, 'data', 'payments', '2026-01-03.csv'));
  });

  test('backfill runs one keyed run per partition with progress; run again, it skips the partitions done', () => {
    file('2026-01-04.csv', 'c3,1,2026-01-04T00:00:00Z\n');
    const first = sluice(dir, 'backfill', 'ingest:payments', '--from', '2026-01-01', '--to', '2026-01-05', '--json');
    expect(first.code).toBe(0);
    expect(first.json()).toMatchObject({ total: 4, done: 4, failed: 0, skipped: 0 });
    const keyed = runs('--job', 'ingest:payments').filter((r) => r.trigger === 'backfill');
    expect(keyed.map((r) => [r.runKey, r.rowsOut]).reverse()).toEqual([
      ['ingest:payments@2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z', 0],
      ['ingest:payments@2026-01-02T00:00:00.000Z/2026-01-03T00:00:00.000Z', 0],
      ['ingest:payments@2026-01-03T00:00:00.000Z/2026-01-04T00:00:00.000Z', 0],
      ['ingest:payments@2026-01-04T00:00:00.000Z/2026-01-05T00:00:00.000Z', 1],
    ]);
    const again = sluice(dir, 'backfill', 'ingest:payments', '--from', '2026-01-01', '--to', '2026-01-05');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 succeeded, 4 already done, 0 failed, of 4');
    expect(again.stderr).toContain('backfill ingest:payments: 4/4 done (4 already), 0 failed');
    const refused = sluice(dir, 'backfill', 'materialize:stats', '--from', '2026-01-01', '--to', '2026-01-02');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('job "materialize:stats" cannot be backfilled by partition');
    expect(sluice(dir, 'backfill', 'ingest:payments', '--from', 'yesterday', '--to', '2026-01-02').code).toBe(2);
    const audited = sluice(dir, '--json', 'audit', 'list', '--action', 'backfill').json<{ records: Array<{ target: string; outcome: string; details: Record<string, unknown> }> }>().records;
    expect(audited.map((r) => [r.target, r.outcome, r.details.done ?? r.details.error])).toEqual([
      ['job:materialize:stats', 'failed', 'VALIDATION_FAILED'], ['job:ingest:payments', 'succeeded', 0], ['job:ingest:payments', 'succeeded', 4],
    ]);
  });

  test('backfill --rerun runs a done date again in place of its rows; killed before its commit, it leaves them; run again, it replaces them once', async () => {
    const latestRows = async () => (await snapshotRows(dir, 'payments', 'customer_id')).at(-1);
    const before = await latestRows();
    const args = ['backfill', 'ingest:payments', '--from', '2026-01-01', '--to', '2026-01-02', '--rerun'];
    await sluiceKilledAt(dir, 'ingest.committing', ...args);
    expect(await latestRows()).toEqual(before);
    const rerun = sluice(dir, ...args, '--json');
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json()).toMatchObject({ rerun: true, total: 1, done: 1, skipped: 0 });
    expect(await latestRows()).toEqual(before);
    // Again, as a person reads it: the summary and what the online tables hold.
    const again = sluice(dir, ...args);
    expect(again.stdout).toContain('(re-run): 1 succeeded, 0 already done, 0 failed, of 1');
    expect(again.stderr).toContain('the re-run replaced the rows of 1 partition(s); the online tables of the source\'s views hold the earlier rows until "sluice materialize" rebuilds them');
    expect(await latestRows()).toEqual(before);
    const [last] = runs('--job', 'ingest:payments', '--limit', '1');
    expect(last).toMatchObject({ status: 'succeeded', trigger: 'backfill', runKey: 'ingest:payments@2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z', params: { rerun: true } });
    expect(sluice(dir, 'runs', '--job', 'ingest:payments', '--limit', '1').stdout).toContain('backfill (re-run)');
  });

  test('an unknown job is refused naming the jobs there are', () => {
    const r = sluice(dir, 'run', 'materialize:stat');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('there is no job "materialize:stat" (did you mean "materialize:stats"?); jobs: ingest:payments, materialize:stats');
    // A mistyped --job lists nothing, but says so and suggests the name it meant.
    expect(sluice(dir, 'runs', '--job', 'ingest:payment').stdout.trim()).toBe('No runs of job "ingest:payment" (did you mean "ingest:payments"?).');
  });

  test('sluice scheduler runs the trigger when a new snapshot is committed', async () => {
    const scheduler = await startSluice(dir, ['scheduler']);
    try {
      file('2026-01-05.csv', 'c1,1,2026-01-05T00:00:00Z\n');
      expect(sluice(dir, 'ingest', 'payments', '--file', join(dir, 'data', 'payments', '2026-01-05.csv')).code).toBe(0);
      await vi.waitFor(() => expect(runs('--job', 'materialize:stats').filter((r) => r.trigger === 'trigger' && r.status === 'succeeded')).toHaveLength(1), { timeout: 60_000, interval: 500 });
      const [triggered] = runs('--job', 'materialize:stats').filter((r) => r.trigger === 'trigger');
      expect(triggered!.runKey).toMatch(/^materialize:stats@payments@\d+-[0-9a-f]{8}$/);
    } finally {
      expect(await scheduler.stop()).toBe(143);
    }
  });

  test('sluice serve runs the schedules too', async () => {
    const server = await startSluice(dir, ['serve', '--port', '0']);
    try {
      file('2026-01-06.csv', 'c2,1,2026-01-06T00:00:00Z\n');
      expect(sluice(dir, 'ingest', 'payments', '--file', join(dir, 'data', 'payments', '2026-01-06.csv')).code).toBe(0);
      await vi.waitFor(() => expect(runs('--job', 'materialize:stats').filter((r) => r.trigger === 'trigger' && r.status === 'succeeded')).toHaveLength(2), { timeout: 60_000, interval: 500 });
    } finally {
      expect(await server.stop()).toBe(143);
    }
  });

  // Before 12-01 they exited 0 after their orderly stop, as if they had ended of themselves; the
  // commands that run to their end exited 130/143 (exitOnInterrupt).
  test.each([['scheduler', 'SIGTERM', 143], ['worker', 'SIGINT', 130], ['serve', 'SIGINT', 130]] as const)('sluice %s stopped by %s exits %i after its orderly stop', async (command, signal, code) => {
    const started = await startSluice(dir, command === 'serve' ? ['serve', '--port', '0'] : [command]);
    expect(await started.stop(signal), started.stderr()).toBe(code);
  });
});

describe('a scheduler killed while its run is in flight', () => {
  const crashConfig = `import { defineProject, entity, batchSource, sqlTransform, schedule } from 'sluice';
const payments = batchSource({ name: 'payments', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const looping = sqlTransform({ name: 'looping', inputs: [payments], timestamp: 'ts', schema: { customer_id: 'string', ts: 'timestamp' },
  sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT 'a' AS customer_id, TIMESTAMP '2024-01-01' AS ts FROM r" });
export default defineProject({ name: 'crash', entities: [entity({ name: 'customer', joinKey: 'customer_id' })], sources: [payments], featureViews: [], transforms: [looping],
  schedules: [schedule({ job: looping, onNewSnapshot: payments, retries: 3 })] });
`;

  test('the restarted scheduler fails the dead run (reporting job_failed) and does not run its firing again', async () => {
    const crashDir = join(root, 'crash');
    expect(sluice(root, 'init', 'crash').code).toBe(0);
    writeFileSync(join(crashDir, 'sluice.config.ts'), crashConfig);
    writeFileSync(join(crashDir, 'p.csv'), 'customer_id,ts\nc1,2026-01-01T00:00:00Z\n');
    expect(sluice(crashDir, 'apply').code).toBe(0);
    const loopingRuns = () => sluice(crashDir, 'runs', '--json', '--job', 'transform:looping').json<{ runs: RunRow[] }>().runs;
    const first = await startSluice(crashDir, ['scheduler']);
    try {
      expect(sluice(crashDir, 'ingest', 'payments', '--file', join(crashDir, 'p.csv')).code).toBe(0);
      await vi.waitFor(() => expect(loopingRuns().map((r) => r.status)).toEqual(['running']), { timeout: 60_000, interval: 500 });
    } finally {
      await first.kill();
    }
    const second = await startSluice(crashDir, ['scheduler']);
    try {
      // Its first tick is done when it says it runs: the dead run was reaped, and the firing's key was not claimed again.
      const after = loopingRuns();
      expect(after.map((r) => [r.status, r.error, r.attempt])).toEqual([['failed', expect.stringMatching(/^the process running it died; last known alive at /), 1]]);
      expect(second.stderr()).toContain(`run ${(after[0] as unknown as { id: string }).id} of transform:looping failed: the process running it died`);
    } finally {
      expect(await second.stop()).toBe(143);
    }
    const timedOut = sluice(crashDir, 'run', 'transform:looping', '--timeout', '1s');
    expect(timedOut.code).toBe(1);
    expect(timedOut.stdout).toContain('transform:looping: FAILED: timed out after 1s');
    expect(loopingRuns().map((r) => [r.status, r.error])[0]).toEqual(['failed', 'timed out after 1s']);
  });
});

describe('sluice run --timeout on an ingest job', () => {
  test('the timed-out run fails, its work is stopped, and the command exits (it used to hang on the closed engine)', () => {
    const slowDir = join(root, 'slow');
    expect(sluice(root, 'init', 'slow').code).toBe(0);
    writeFileSync(join(slowDir, 'sluice.config.ts'), config.replace("name: 'orch'", "name: 'slow'").replace('data/payments/*.csv', 'data/big/*.csv'));
    mkdirSync(join(slowDir, 'data', 'big'), { recursive: true });
    const rows = Array.from({ length: 1_500_000 }, (_, i) => `c${i},${i % 100},2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`);
    writeFileSync(join(slowDir, 'data', 'big', 'big-2026-01-01.csv'), `customer_id,amount,ts\n${rows.join('\n')}\n`);
    expect(sluice(slowDir, 'apply').code).toBe(0);
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sluice.js'), 'run', 'ingest:payments', '--timeout', '1s'], { cwd: slowDir, encoding: 'utf8', timeout: 90_000 });
    expect({ code: r.status, signal: r.signal }).toEqual({ code: 1, signal: null });
    expect(r.stdout).toContain('ingest:payments: FAILED: timed out after 1s');
    const history = sluice(slowDir, 'runs', '--json').json<{ runs: RunRow[] }>().runs;
    expect(history.filter((h) => h.status === 'running')).toEqual([]);
    expect(history.find((h) => h.job === 'ingest:payments')).toMatchObject({ status: 'failed', error: 'timed out after 1s' });
  });

  test('a backfill waits for its timed-out attempt to stop: the attempt\'s work ends with its own error, not as a dead process', () => {
    const slowDir = join(root, 'slow');
    const r = sluice(slowDir, 'backfill', 'ingest:payments', '--from', '2026-01-01', '--to', '2026-01-02', '--timeout', '1s', '--retries', '0');
    expect(r.code).toBe(1);
    const history = sluice(slowDir, 'runs', '--json', '--limit', '2').json<{ runs: RunRow[] }>().runs;
    expect(history.map((h) => [h.job, h.status])).toEqual([['ingest', 'failed'], ['ingest:payments', 'failed']]);
    expect(history.filter((h) => h.error?.startsWith('the process running it died'))).toEqual([]);
  });
});

// A partition that another live backfill holds was left to it silently: the summary counted it
// nowhere ("1 succeeded, 0 already done, 0 failed, of 2") and the exit code was 0, so a script
// went on (training, say) while part of its range was not ingested, and never would be if the
// other backfill then failed.
describe('a backfill overlapping another live backfill', () => {
  const DAY = 86_400_000;
  test('a partition running in another live backfill is counted in the summary, and the backfill exits 1: its range is not confirmed done', async () => {
    file('2026-03-01.csv', 'c1,10,2026-03-01T00:00:00Z\n');
    file('2026-03-02.csv', 'c1,7,2026-03-02T00:00:00Z\n');
    const from = Date.parse('2026-03-01T00:00:00Z');
    // This test's process stands for the other backfill: alive, holding the second day's key.
    const platform = openPlatform({ projectDir: dir, lineage: false });
    try {
      const key = partitionKey('ingest:payments', { start: from + DAY, end: from + 2 * DAY });
      expect((await platform.metadata.schedules.claim({ key, job: 'ingest:payments', trigger: 'backfill', scheduledFor: from + DAY, holder: newLeaseHolder() }, Date.now())).claimed).toBe(true);
    } finally {
      await platform.close();
    }
    const human = sluice(dir, 'backfill', 'ingest:payments', '--from', '2026-03-01', '--to', '2026-03-03');
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('running-elsewhere');
    expect(human.stdout).toContain('backfill ingest:payments by 1d: 1 succeeded, 0 already done, 0 failed, 1 running in another backfill, of 2');
    expect(human.stdout).toContain('1 partition(s) are run by another backfill that is still running: run the same command again once it ends, to confirm they succeeded');
    const json = sluice(dir, 'backfill', 'ingest:payments', '--from', '2026-03-01', '--to', '2026-03-03', '--json');
    expect(json.code).toBe(1);
    expect(json.json<{ done: number; skipped: number; failed: number; runningElsewhere: number }>()).toMatchObject({ done: 0, skipped: 1, failed: 0, runningElsewhere: 1 });
  });
});
