import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, last, streamSource, sum } from '../src/definitions/index.js';
import { openPlatform, type Platform } from '../src/platform.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { StreamProcessor } from '../src/streaming/stream-processor.js';
import type { EventLog } from '../src/storage/log/event-log.js';
import type { OnlineStore } from '../src/storage/online/online-store.js';
import { tempPlatform } from './support/temp-platform.js';

// The stream processor's pipeline (issue 6 §7): groups in flight at once, each group's online
// update issued before the previous one has committed and flushed; and a table that lost its
// last commits (what a power loss leaves of commits not yet flushed) replays them from the log.
const T0 = Date.parse('2024-01-01T00:00:00Z');
const NOW = T0 + 10 * 3_600_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h',
});
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count(), total: sum('amount'), last_channel: last('channel') } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats] });
const project = compileProject(spec);
const FEATURES = ['stats:n', 'stats:total', 'stats:last_channel'];
const ACCOUNTS = Array.from({ length: 13 }, (_, i) => `a${i}`);

interface Payment { id: string; account: string; amount: number; channel: string; minute: number }
/** Payments `from` to `to`: quarter amounts (exact in binary), distinct minutes per account so "last" has no ties. */
const payments_ = (from: number, to: number): Payment[] =>
  Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { id: `p${i}`, account: ACCOUNTS[i % ACCOUNTS.length]!, amount: ((i * 37) % 101) / 4, channel: ['web', 'pos', 'card'][i % 3]!, minute: 540 + Math.floor(i / ACCOUNTS.length) % 60 };
  });
const text = (p: Payment) => JSON.stringify({ payment_id: p.id, account_id: p.account, amount: p.amount, channel: p.channel, ts: new Date(T0 + p.minute * 60_000).toISOString() });
/** What the view must answer, computed without the platform. */
const reference = (all: readonly Payment[]) =>
  ACCOUNTS.map((a) => {
    const mine = all.filter((p) => p.account === a);
    const newest = mine.reduce<Payment | undefined>((best, p) => (best === undefined || p.minute >= best.minute ? p : best), undefined);
    return { account_id: a, stats__n: mine.length, stats__total: mine.reduce((s, p) => s + p.amount, 0), stats__last_channel: newest?.channel ?? null };
  });

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function start(platform: Platform) {
  return startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000 });
}
async function answer(platform: Platform) {
  const res = await getOnlineFeatures(project, await platform.online(), { entities: { account_id: ACCOUNTS }, features: FEATURES }, NOW, await latestSnapshots(platform.metadata, project));
  return res.rows;
}
/** A platform with its stream runtime started, both closed after the test. */
async function started() {
  const env = await tempPlatform(spec, NOW);
  cleanup.push(() => env.dispose());
  const runtime = await start(env.platform);
  cleanup.push(() => runtime.close());
  return { env, runtime };
}
const push = (runtime: StreamRuntime, batch: readonly Payment[]) => runtime.processor.append('payments', { texts: batch.map(text) }, 'push');

describe('stream processor pipeline', () => {
  test('many batches in flight at once: every group applied once, in log order; online == reference', async () => {
    const { env, runtime } = await started();
    const all = payments_(0, 3_000);
    // 60 batches pushed without waiting: they form many groups, several in flight at once.
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, b) => push(runtime, all.slice(b * 50, b * 50 + 50))));
    expect(outcomes.every((o) => o.accepted === 50 && o.rejected.length === 0)).toBe(true);
    const log = await env.platform.log();
    expect(log.head('payments')).toBeGreaterThan(1);
    expect((await (await env.platform.online()).viewInfo('stats'))!.applied).toEqual({ payments: log.head('payments') });
    expect(await answer(env.platform)).toEqual(reference(all));
    // Duplicates pushed concurrently again count once.
    const again = await Promise.all([push(runtime, all.slice(0, 50)), push(runtime, all.slice(50, 100))]);
    expect(again.map((o) => o.duplicates)).toEqual([50, 50]);
    expect(await answer(env.platform)).toEqual(reference(all));
  });

  test('a push that waits says on what: the oldest group in flight, its stage and how long, in the runtime\'s status (GET /v1/streams)', async () => {
    const env = await tempPlatform(spec, NOW);
    cleanup.push(() => env.dispose());
    // The log's append held before it starts: the group waits in "appending to the log".
    const log = await env.platform.log();
    const append = log.append.bind(log);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let appending!: () => void;
    const reached = new Promise<void>((resolve) => (appending = resolve));
    log.append = async (source, batch, staged) => {
      appending();
      await held;
      return append(source, batch, staged);
    };
    const runtime = await start(env.platform);
    cleanup.push(() => runtime.close());
    expect(runtime.status()[0]!.inFlight).toBeUndefined();
    const pushed = push(runtime, payments_(0, 20));
    await reached;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const inFlight = runtime.status()[0]!.inFlight!;
    expect(inFlight).toMatchObject({ batches: 1, stage: 'appending to the log' });
    expect(inFlight.stageForMs).toBeGreaterThanOrEqual(15);
    expect(inFlight.forMs).toBeGreaterThanOrEqual(inFlight.stageForMs);
    release();
    expect((await pushed).accepted).toBe(20);
    expect(runtime.status()[0]!.inFlight).toBeUndefined();
  });

  test('a group\'s online state is made while its log entry is flushed, and committed only once the log is durable; nothing of it when the flush fails', async () => {
    const { env, runtime } = await started();
    const first = payments_(0, 100);
    await push(runtime, first);
    // The log's fsync held open: the entry is in its transaction, the append has not resolved.
    const real = await env.platform.log();
    let flush: { resolve: () => void; reject: (error: Error) => void } | undefined;
    let flushing!: () => void;
    let inFlush = new Promise<void>((resolve) => (flushing = resolve));
    const log: EventLog = {
      ...real,
      async append(source, batch, staged) {
        const result = await real.append(source, batch, staged);
        flushing();
        await new Promise<void>((resolve, reject) => (flush = { resolve, reject }));
        return result;
      },
    };
    // Told when the store makes a group's states (before its commit).
    const store = await env.platform.online();
    let making!: () => void;
    let made = new Promise<void>((resolve) => (making = resolve));
    const online: OnlineStore = { ...store, update: (view, generation, keys, apply, progress, options) => store.update(view, generation, keys, (key, state) => (making(), apply(key, state)), progress, options) };
    const engine = await env.platform.newEngine(1);
    cleanup.push(() => engine.close());
    const processor = new StreamProcessor({ project: () => project, log, online, engine, now: () => NOW });
    const applied = async () => (await store.viewInfo('stats'))!.applied?.['payments'];

    const second = payments_(100, 200);
    let answered = false;
    const pushed = processor.append('payments', { texts: second.map(text) }, 'push').then((outcome) => ((answered = true), outcome));
    await inFlush;
    await made;
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(answered).toBe(false);
    // A push that waits says on what (GET /v1/streams shows it per source).
    expect(processor.oldestGroup('payments')).toMatchObject({ batches: 1, stage: 'waiting for the log to be durable' });
    expect(processor.oldestGroup('payments')!.forMs).toBeGreaterThanOrEqual(processor.oldestGroup('payments')!.stageForMs);
    expect(await applied()).toBe(1);
    expect(await answer(env.platform)).toEqual(reference(first));
    flush!.resolve();
    expect((await pushed).accepted).toBe(100);
    expect(processor.oldestGroup('payments')).toBeUndefined();
    expect(await applied()).toBe(2);
    expect(await answer(env.platform)).toEqual(reference([...first, ...second]));

    // The flush fails: the push fails and the online table does not hold the entry.
    inFlush = new Promise<void>((resolve) => (flushing = resolve));
    made = new Promise<void>((resolve) => (making = resolve));
    const third = payments_(200, 300);
    const failed = processor.append('payments', { texts: third.map(text) }, 'push');
    await inFlush;
    await made;
    flush!.reject(new Error('fsync failed'));
    await expect(failed).rejects.toThrow('fsync failed');
    expect(processor.oldestGroup('payments')).toBeUndefined();
    expect(await applied()).toBe(2);
    expect(await answer(env.platform)).toEqual(reference([...first, ...second]));
    // (This log did commit the entry: the next group's update catches the table up from the log first.)
    const fourth = payments_(300, 400);
    inFlush = new Promise<void>((resolve) => (flushing = resolve));
    const next = processor.append('payments', { texts: fourth.map(text) }, 'push');
    await inFlush;
    flush!.resolve();
    await next;
    expect(await applied()).toBe(4);
    expect(await answer(env.platform)).toEqual(reference([...first, ...second, ...third, ...fourth]));
  });

  test('a table that lost its last commits (not flushed at a power loss) replays them from the log and ends exactly as without the loss', async () => {
    const env = await tempPlatform(spec, NOW);
    cleanup.push(() => env.dispose());
    const onlineDir = join(env.dir, '.sluice', 'online');
    const kept = join(env.dir, 'online-as-flushed');
    const first = payments_(0, 400);
    const later = payments_(400, 1_000);
    let runtime = await start(env.platform);
    await push(runtime, first);
    await runtime.close();
    await env.platform.close();
    // The online files as they were on disk when only the first batch's commit was flushed.
    cpSync(onlineDir, kept, { recursive: true });

    let platform = openPlatform({ projectDir: env.dir, now: () => NOW, threads: 1, projectSpec: spec });
    runtime = await start(platform);
    for (let i = 0; i < later.length; i += 100) await push(runtime, later.slice(i, i + 100));
    const withoutLoss = await answer(platform);
    expect(withoutLoss).toEqual(reference([...first, ...later]));
    const head = (await platform.log()).head('payments');
    await runtime.close();
    await platform.close();

    // The power loss: the log kept every entry (fsynced before each answer), the table lost the later commits.
    rmSync(onlineDir, { recursive: true, force: true });
    cpSync(kept, onlineDir, { recursive: true });
    platform = openPlatform({ projectDir: env.dir, now: () => NOW, threads: 1, projectSpec: spec });
    cleanup.push(() => platform.close());
    runtime = await start(platform);
    cleanup.push(() => runtime.close());
    expect((await (await platform.online()).viewInfo('stats'))!.applied).toEqual({ payments: 1 });
    // The catch-up (the runtime's timer; a push does it too) replays entries 2.. from the log.
    await runtime.commitNow();
    expect((await (await platform.online()).viewInfo('stats'))!.applied).toEqual({ payments: head });
    expect(await answer(platform)).toEqual(withoutLoss);
    // And the next push goes on from there, once.
    const next = payments_(1_000, 1_100);
    await push(runtime, next);
    expect(await answer(platform)).toEqual(reference([...first, ...later, ...next]));
  });

  test('with the online store flushed on a schedule, unflushed commits at a restart of the machine: the store starts empty and the stream view is rebuilt from the lake and the log, exactly', async () => {
    const env = await tempPlatform(spec, NOW);
    cleanup.push(() => env.dispose());
    await env.platform.close();
    const options = { projectDir: env.dir, now: () => NOW, threads: 1, projectSpec: spec, onlineFlushEveryMs: 3_600_000 };
    let platform = openPlatform(options);
    let runtime = await start(platform);
    const all = payments_(0, 900);
    for (let i = 0; i < 600; i += 100) await push(runtime, all.slice(i, i + 100));
    await runtime.commitNow(); // part in the lake, the rest only in the log
    for (let i = 600; i < 900; i += 100) await push(runtime, all.slice(i, i + 100));
    const before = await answer(platform);
    expect(before).toEqual(reference(all));
    // What a process with commits not yet flushed leaves when the machine goes down: its marker, naming that boot.
    writeFileSync(join(env.dir, '.sluice', 'online', `unflushed-${process.pid}-gone`), 'an-earlier-boot\n');
    await runtime.close();
    await platform.close();
    platform = openPlatform(options);
    cleanup.push(() => platform.close());
    expect(await (await platform.online()).viewInfo('stats')).toBeUndefined();
    runtime = await start(platform);
    cleanup.push(() => runtime.close());
    expect(await answer(platform)).toEqual(before);
    const next = payments_(900, 1_000);
    await push(runtime, next);
    expect(await answer(platform)).toEqual(reference([...all, ...next]));
  });
});
