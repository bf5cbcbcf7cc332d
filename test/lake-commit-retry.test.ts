import { existsSync } from 'node:fs';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { tempPlatform } from './support/temp-platform.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const user = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({ name: 'events', schema: { id: 'string', k: 'string', ts: 'timestamp' }, timestamp: 'ts', eventId: 'id' });
const spec = defineProject({ name: 'p', entities: [user], sources: [events], featureViews: [featureView({ name: 'stats', entity: user, source: events, features: { n: count() } })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
let runtime: StreamRuntime;
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
  runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
});
afterEach(async () => {
  await runtime.close();
  await env.dispose();
});

test('a lake commit retried after a crash between its snapshot and its checkpoint finds the snapshot and keeps its file', async () => {
  const texts = Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `e${i}`, k: `k${i % 3}`, ts: new Date(T0 - i * 1000).toISOString() }));
  await runtime.processor.append('events', { texts }, 'push');
  const [first] = await runtime.commitNow();
  expect(first).toMatchObject({ rows: 10 });
  // The crash: the snapshot is committed, the lake checkpoint not yet moved (the pending range stays).
  const log = await env.platform.log();
  await log.setCheckpoint('lake', 'events', 0);
  const [retried] = await runtime.commitNow();
  expect(retried!.snapshot).toEqual(first!.snapshot);
  const latest = await env.platform.metadata.latestSnapshot('events');
  expect(latest).toMatchObject({ version: first!.snapshot!.version, rowCount: 10 });
  for (const file of latest!.files) expect(existsSync(env.platform.lake.resolve(file))).toBe(true);
  expect(log.checkpoint('lake', 'events')).toBe(1);
});

test('a commit after a crash that left a pending range commits that range and then the rest of the log', async () => {
  const batch = (from: number) => Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: `e${from + i}`, k: 'k', ts: new Date(T0 - i * 1000).toISOString() }));
  await runtime.processor.append('events', { texts: batch(0) }, 'push');
  // The crash: the range (entry 1) was fixed, nothing written; more entries arrive after the restart.
  const log = await env.platform.log();
  await log.setCheckpoint('lake-pending', 'events', 1);
  await runtime.processor.append('events', { texts: batch(5) }, 'push');
  await runtime.processor.append('events', { texts: batch(10) }, 'push');
  await runtime.commitNow();
  expect(log.checkpoint('lake', 'events')).toBe(3);
  expect(await env.platform.metadata.latestSnapshot('events')).toMatchObject({ rowCount: 15 });
});

test('a backlog of log entries is committed in bounded micro-batches, each entry once', async () => {
  const { commitLogToLake } = await import('../src/streaming/lake-committer.js');
  for (let b = 0; b < 5; b++) {
    await runtime.processor.append('events', { texts: [JSON.stringify({ id: `b${b}`, k: 'k', ts: new Date(T0 - b).toISOString() })] }, 'push');
  }
  const lakeEngine = await env.platform.newEngine(1);
  try {
    const deps = { ctx: env.platform, log: await env.platform.log(), online: await env.platform.online(), exclusive: <T>(work: (e: typeof lakeEngine) => Promise<T>) => work(lakeEngine) };
    const source = env.project.sources[0]!;
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) sizes.push((await commitLogToLake(deps, env.project, source, 2)).entries);
    expect(sizes).toEqual([2, 2, 1, 0]);
    expect(await env.platform.metadata.latestSnapshot('events')).toMatchObject({ rowCount: 5, version: 3 });
  } finally {
    await lakeEngine.close();
  }
});

test('two processes committing the log of one source at once commit each entry once and keep every committed file', async () => {
  const other = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
  try {
    for (let b = 0; b < 6; b++) {
      await runtime.processor.append('events', { texts: [0, 1, 2].map((i) => JSON.stringify({ id: `c${b}-${i}`, k: `k${i}`, ts: new Date(T0 - b).toISOString() })) }, 'push');
      await Promise.all([runtime.commitNow(), other.commitNow()]);
    }
    const latest = await env.platform.metadata.latestSnapshot('events');
    expect(latest!.rowCount).toBe(18);
    for (const file of latest!.files) expect(existsSync(env.platform.lake.resolve(file))).toBe(true);
    const engine = await env.platform.engine();
    const files = latest!.files.map((f) => `'${env.platform.lake.resolve(f)}'`).join(', ');
    expect(await engine.all(`SELECT count(DISTINCT id)::INTEGER AS ids, count(*)::INTEGER AS n FROM read_parquet([${files}])`)).toEqual([{ ids: 18, n: 18 }]);
  } finally {
    await other.close();
  }
});
