import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, last, range, streamSource, sum, type ProjectSpec } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { openPlatform, type Platform } from '../src/platform.js';
import { materialize } from '../src/processing/materialize.js';
import { withLease } from '../src/orchestration/lease.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { openSqlite } from '../src/storage/metadata/sqlite/sqlite-driver.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

// An online store removed at open (commits not flushed before the machine restarted): the stream
// views are rebuilt at once, and the batch views whose current definition was materialized come
// back by themselves, in the background, from the lake; a view never materialized stays so.
const T0 = Date.parse('2024-01-01T00:00:00Z');
const NOW = T0 + 10 * 3_600_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments', schema: { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h',
});
const deposits = batchSource({ name: 'deposits', schema: { account_id: 'string', amount: 'float64', branch: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const streamed = featureView({ name: 'streamed', entity: account, source: payments, features: { n: count(), total: sum('amount') } });
const balances = featureView({ name: 'balances', entity: account, source: deposits, features: { n: count(), total: sum('amount'), branch: last('branch') } });
const never = featureView({ name: 'never', entity: account, source: deposits, features: { top: sum('amount', { window: '1h' }) } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments, deposits], featureViews: [streamed, balances, never] });
const project = compileProject(spec);
const FEATURES = ['streamed:n', 'streamed:total', 'balances:n', 'balances:total', 'balances:branch', 'never:top'];
const ACCOUNTS = ['a1', 'a2', 'a3', 'a4'];

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

interface Started { platform: Platform; runtime: StreamRuntime; lines: string[] }
const answer = async (platform: Platform, p = project) => {
  const res = await getOnlineFeatures(p, await platform.online(), { entities: { account_id: ACCOUNTS }, features: FEATURES }, NOW, await latestSnapshots(platform.metadata, p));
  return { rows: res.rows, views: res.views };
};

/**
 * A store with the batch view materialized and the stream view fed; then what a power loss
 * leaves (the marker of a process whose commits were not flushed, naming an earlier boot), and
 * the platform opened again with the scheduled flush: its online store starts empty.
 */
async function afterPowerLoss(options: { runtimeSpec?: ProjectSpec } = {}) {
  const env = await tempPlatform(spec, NOW);
  cleanup.push(() => env.dispose());
  writeFileSync(join(env.dir, 'deposits.csv'), ['account_id,amount,branch,ts', 'a1,10.5,north,2024-01-01T01:00:00Z', 'a1,2.25,south,2024-01-01T02:00:00Z', 'a2,7,east,2024-01-01T03:00:00Z', 'a3,1,west,2024-01-01T09:30:00Z'].join('\n'));
  await ingestFile(env.platform, env.project, 'deposits', join(env.dir, 'deposits.csv'));
  await env.platform.close();
  const options_ = { projectDir: env.dir, now: () => NOW, threads: 1, projectSpec: spec, onlineFlushEveryMs: 3_600_000 };
  const first = openPlatform(options_);
  const runtime = await startStreamRuntime(first, { project: () => project, commitIntervalMs: 3_600_000 });
  await runtime.processor.append('payments', { texts: ['a1', 'a2', 'a1', 'a4'].map((a, i) => JSON.stringify({ payment_id: `p${i}`, account_id: a, amount: i + 0.5, ts: new Date(T0 + i * 60_000).toISOString() })) }, 'push');
  await runtime.commitNow(); // the streamed events in the lake too, as the runtime's close would leave them
  await materialize(first, project, { views: ['balances'] });
  const before = await answer(first);
  writeFileSync(join(env.dir, '.sluice', 'online', `unflushed-${process.pid}-gone`), 'an-earlier-boot\n');
  await runtime.close();
  await first.close();
  const platform = openPlatform(options_);
  cleanup.push(() => platform.close());
  expect(await (await platform.online()).viewInfo('balances')).toBeUndefined();
  const runtimeProject = options.runtimeSpec ? compileProject(options.runtimeSpec) : project;
  // What the runtime's registry holds (a test may apply a change while it runs).
  const registry = { project: runtimeProject };
  const start = async (): Promise<Started> => {
    const lines: string[] = [];
    const started = await startStreamRuntime(platform, {
      project: () => registry.project, commitIntervalMs: 3_600_000, rebuildBackoff: { baseMs: 5, maxMs: 20 },
      log: (level, message) => void lines.push(`${level}: ${message}`),
    });
    cleanup.push(() => started.close());
    return { platform, runtime: started, lines };
  };
  return { env, platform, before, start, registry };
}

/** A store with the batch view materialized (no power loss), then `sql` run on the metadata database. */
async function materializedThen(sql: string) {
  const env = await tempPlatform(spec, NOW);
  cleanup.push(() => env.dispose());
  writeFileSync(join(env.dir, 'deposits.csv'), 'account_id,amount,branch,ts\na1,1,north,2024-01-01T01:00:00Z\n');
  await ingestFile(env.platform, env.project, 'deposits', join(env.dir, 'deposits.csv'));
  await materialize(env.platform, project, { views: ['balances'] });
  const db = openSqlite(join(env.dir, '.sluice', 'metadata.db'));
  db.exec(sql);
  db.close();
  return env;
}

const until = async (what: () => boolean | Promise<boolean>) => {
  while (!(await what())) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('batch views lost with the online store', () => {
  test('come back by themselves with the same values and snapshot; a view never materialized stays not materialized', async () => {
    const { platform, before, start } = await afterPowerLoss();
    expect(before.views.balances!.status).toBe('FRESH');
    expect(before.views.never!.status).toBe('NOT_MATERIALIZED');
    const { runtime, lines } = await start();
    await runtime.rebuilds.settled();
    const after = await answer(platform);
    expect(after).toEqual(before);
    expect(await (await platform.online()).viewInfo('never')).toBeUndefined();
    expect(lines.filter((l) => l.includes('"balances"'))).toEqual([
      expect.stringMatching(/^warn: view "balances": its online table is missing although its current definition was materialized .*rebuilding it/),
      expect.stringMatching(/^info: view "balances": rebuilt from the lake \(snapshot deposits@1-\w+, 3 entities\)/),
    ]);
    expect(lines.some((l) => l.includes('"never"'))).toBe(false);
    const runs = await platform.metadata.listRuns(10, { job: 'materialize' });
    expect(runs[0]).toMatchObject({ status: 'succeeded', params: { views: ['balances'], trigger: 'recovery' } });
  });

  test('a failed rebuild is in run history and health, and is retried until it succeeds', async () => {
    const { platform, before, start } = await afterPowerLoss();
    const files = (await platform.metadata.latestSnapshot('deposits'))!.files.map((f) => platform.lake.resolve(f));
    for (const f of files) renameSync(f, `${f}.away`);
    const { runtime, lines } = await start();
    await until(async () => (await platform.metadata.listRuns(10, { job: 'materialize', status: 'failed' })).length >= 2);
    expect(lines.some((l) => /^error: view "balances": rebuilding its online table failed \(attempt \d+; retrying in \d+ ms\)/.test(l))).toBe(true);
    const firing = await platform.metadata.health.list({ firing: true, kind: 'job_failed' });
    expect(firing.map((c) => c.subject)).toContain('job:materialize:balances');
    expect(runtime.rebuilds.pending().map((p) => p.view)).toEqual(['balances']);
    // Meanwhile the other views are served, and the lost one answers its honest status.
    const meanwhile = await answer(platform);
    expect(meanwhile.views.balances!.status).toBe('NOT_MATERIALIZED');
    expect(meanwhile.views.streamed).toEqual(before.views.streamed);
    expect(meanwhile.rows.map((r) => [r.streamed__n, r.streamed__total])).toEqual(before.rows.map((r) => [r.streamed__n, r.streamed__total]));
    for (const f of files) renameSync(`${f}.away`, f);
    await runtime.rebuilds.settled();
    expect(await answer(platform)).toEqual(before);
    expect((await platform.metadata.health.list({ firing: true, kind: 'job_failed' })).map((c) => c.subject)).not.toContain('job:materialize:balances');
  });

  test('a view whose definition changes while its rebuild waits to be retried is dropped from the list, with a warning', async () => {
    const { platform, start, registry } = await afterPowerLoss();
    const files = (await platform.metadata.latestSnapshot('deposits'))!.files.map((f) => platform.lake.resolve(f));
    for (const f of files) renameSync(f, `${f}.away`);
    const { runtime, lines } = await start();
    await until(() => runtime.rebuilds.pending().some((p) => p.view === 'balances' && p.failures >= 1));
    const changed = featureView({ name: 'balances', entity: account, source: deposits, features: { n: count(), total: sum('amount', { window: '2h' }), branch: last('branch') } });
    registry.project = compileProject(defineProject({ name: 'p', entities: [account], sources: [payments, deposits], featureViews: [streamed, changed, never] }));
    await runtime.rebuilds.settled();
    expect(runtime.rebuilds.pending()).toEqual([]);
    expect(lines.at(-1)).toMatch(/^warn: view "balances": its definition changed before its online table was rebuilt; not rebuilt by itself: run "sluice materialize --views balances"/);
    expect(await (await platform.online()).viewInfo('balances')).toBeUndefined();
  });

  test('a process stopping during a rebuild stops it (its engine interrupted): nothing switched in, a failed run, and the next start rebuilds the view', async () => {
    const { platform, before, start } = await afterPowerLoss();
    let reached!: () => void;
    const atChunk = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const off = onTestPause('materialize.chunk-read:balances', async () => {
      reached();
      await released;
    });
    cleanup.push(async () => void off());
    const first = await start();
    await atChunk;
    const closing = first.runtime.close();
    release();
    await closing;
    off();
    expect(await (await platform.online()).viewInfo('balances')).toBeUndefined();
    const [run] = await platform.metadata.listRuns(1, { job: 'materialize' });
    expect(run).toMatchObject({ status: 'failed', params: { trigger: 'recovery' } });
    expect(run!.error).toMatch(/interrupted/i);
    expect(first.lines.at(-1)).toMatch(/^info: view "balances": its rebuild was stopped \(the process is stopping\); the next start of "sluice serve" or "sluice worker" rebuilds it/);
    const second = await start();
    await second.runtime.rebuilds.settled();
    expect(await answer(platform)).toEqual(before);
  });

  test('a view another process is materializing is left to it: checked again later, not materialized twice', async () => {
    const { platform, before, start } = await afterPowerLoss();
    let started: Started | undefined;
    await withLease(platform.metadata, 'materialize:balances', { purpose: 'another process' }, async () => {
      started = await start();
      await until(() => started!.lines.some((l) => l.includes('view "balances": being materialized by another command or process')));
      await materialize(platform, project, { views: ['balances'], viewLeasesHeld: true });
    });
    await started!.runtime.rebuilds.settled();
    expect(started!.lines.at(-1)).toMatch(/^info: view "balances": its online table is back \(materialized meanwhile by another command or process\); not rebuilt/);
    expect((await platform.metadata.listRuns(10, { job: 'materialize' })).filter((r) => r.params.trigger === 'recovery')).toEqual([]);
    expect(await answer(platform)).toEqual(before);
  });

  test('a view last materialized at an earlier definition is not rebuilt: it needs "sluice materialize", as after any change', async () => {
    const changed = featureView({ name: 'balances', entity: account, source: deposits, features: { n: count(), total: sum('amount', { window: '2h' }), branch: last('branch') } });
    const { platform, start } = await afterPowerLoss({ runtimeSpec: defineProject({ name: 'p', entities: [account], sources: [payments, deposits], featureViews: [streamed, changed, never] }) });
    const { runtime, lines } = await start();
    await runtime.rebuilds.settled();
    expect(await (await platform.online()).viewInfo('balances')).toBeUndefined();
    expect(lines.filter((l) => l.includes('"balances"'))).toEqual([
      expect.stringMatching(/^warn: view "balances": its online table is missing; it was last materialized at an earlier definition, so it is not rebuilt by itself: run "sluice materialize --views balances"/),
    ]);
  });

  test('a table materialized before views were recorded (an earlier version) is recorded when the runtime starts, so a later loss finds it', async () => {
    const env = await materializedThen('DELETE FROM materialized_views');
    expect(await env.platform.metadata.materialized.list()).toEqual([]);
    const runtime = await startStreamRuntime(env.platform, { project: () => project, commitIntervalMs: 3_600_000 });
    cleanup.push(() => runtime.close());
    await runtime.rebuilds.settled();
    const table = (await (await env.platform.online()).viewInfo('balances'))!;
    expect((await env.platform.metadata.materialized.list()).find((m) => m.view === 'balances')).toEqual({ view: 'balances', viewHash: project.featureViews.find((v) => v.name === 'balances')!.hash, materializedAt: table.materializedAt, runId: null });
  });
  test('a record left at an earlier definition by a crash between the table\'s switch and its record is set right when the runtime starts', async () => {
    const env = await materializedThen("UPDATE materialized_views SET view_hash = 'an-earlier-definition' WHERE view = 'balances'");
    const runtime = await startStreamRuntime(env.platform, { project: () => project, commitIntervalMs: 3_600_000 });
    cleanup.push(() => runtime.close());
    await runtime.rebuilds.settled();
    const table = (await (await env.platform.online()).viewInfo('balances'))!;
    expect((await env.platform.metadata.materialized.list()).find((m) => m.view === 'balances')).toEqual({ view: 'balances', viewHash: table.viewHash, materializedAt: table.materializedAt, runId: null });
    expect(table.viewHash).toBe(project.featureViews.find((v) => v.name === 'balances')!.hash);
  });

  test('a rebuild blocked by the view\'s error checks is not retried: a failed run, an error line, left to "sluice materialize" once the data is fixed', async () => {
    const checked = featureView({ name: 'balances', entity: account, source: deposits, features: { n: count(), total: sum('amount'), branch: last('branch') }, checks: [range('total', { max: 5, severity: 'error' })] });
    const checkedSpec = defineProject({ name: 'p', entities: [account], sources: [payments, deposits], featureViews: [streamed, checked, never] });
    // Checks do not change values: the same definition hash, so the view is lost, not outdated.
    expect(compileProject(checkedSpec).featureViews.find((v) => v.name === 'balances')!.hash).toBe(project.featureViews.find((v) => v.name === 'balances')!.hash);
    const { platform, start } = await afterPowerLoss({ runtimeSpec: checkedSpec });
    const { runtime, lines } = await start();
    await runtime.rebuilds.settled();
    expect(runtime.rebuilds.pending()).toEqual([]);
    expect(await (await platform.online()).viewInfo('balances')).toBeUndefined();
    expect((await platform.metadata.listRuns(10, { job: 'materialize' })).filter((r) => r.params.trigger === 'recovery').map((r) => r.status)).toEqual(['failed']);
    expect(lines.filter((l) => l.startsWith('error: view "balances"'))).toEqual([
      expect.stringMatching(/^error: view "balances": rebuilding its online table was refused, not retried .*error check "total_range" \(total <= 5: 2 of 3 rows fail\) failed; it has no online table \(it answers NOT_MATERIALIZED\); fix what it names, then run "sluice materialize --views balances"/),
    ]);
  });
});
