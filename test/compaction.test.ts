import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, streamSource, sum } from '../src/definitions/index.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { compactSource } from '../src/orchestration/compact-lake.js';
import { collectGarbage } from '../src/orchestration/garbage-collect.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import type { Principal } from '../src/compliance/principal.js';
import { ConflictError } from '../src/errors.js';
import type { CompactionPolicy } from '../src/storage/lake/compaction-plan.js';
import { tempPlatform } from './support/temp-platform.js';

// Issue 6 §4: streamed micro-batches land in the lake as one file each; a compaction rewrites the
// small files of the latest snapshot into few, as a snapshot of the same rows that is no new data.

const T0 = Date.parse('2026-03-01T00:00:00Z');
const user = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({ name: 'events', schema: { id: 'string', k: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'id' });
const stats = featureView({ name: 'stats', entity: user, source: events, features: { n: count(), total: sum('amount') } });
const spec = defineProject({ name: 'p', entities: [user], sources: [events], featureViews: [stats] });
const admin: Principal = { name: 'cli:test', roles: ['admin'], origin: 'local' };
const policy = { minFiles: 2 };

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A platform whose stream source got `batches` micro-batches, each committed to the lake as its own snapshot. */
async function streamed(batches: number, compaction: Partial<CompactionPolicy> | false = false) {
  const env = await tempPlatform(spec, T0);
  const runtime: StreamRuntime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000, compaction });
  cleanup.push(env.dispose, () => runtime.close());
  const push = async (b: number) => {
    env.clock.now += 1_000;
    const texts = [0, 1, 2].map((i) => JSON.stringify({ id: `e${b}-${i}`, k: `u${(b + i) % 5}`, amount: b * 10 + i + 0.25, ts: new Date(env.clock.now - 500 - i).toISOString() }));
    await runtime.processor.append('events', { texts }, 'push');
    await runtime.commitNow();
  };
  for (let b = 0; b < batches; b++) await push(b);
  const spine = join(env.dir, 'spine.csv');
  writeFileSync(spine, `k,ts\n${[0, 1, 2, 3, 4].map((u) => `u${u},${new Date(env.clock.now + 10_000).toISOString()}\nu${u},${new Date(T0 + 20_000).toISOString()}`).join('\n')}\n`);
  const build = async (out: string, options: { asKnown?: boolean; snapshots?: Record<string, string> } = {}) => {
    const manifest = await buildDataset(env.platform, env.project, { spine, features: ['stats:n', 'stats:total'], out: join(env.dir, out), ...options });
    return { manifest, text: readFileSync(join(env.dir, out), 'utf8') };
  };
  return { ...env, runtime, push, build };
}

test('40 micro-batches compact into one file: same rows, same datasets (as-known too), online unaffected, no new data, old snapshots still read', async () => {
  const env = await streamed(40);
  const { platform, project } = env;
  await materialize(platform, project);
  const before = (await platform.metadata.latestSnapshot('events'))!;
  expect(before.files).toHaveLength(40);
  const datasetBefore = await env.build('before.csv');
  const asKnownBefore = await env.build('before-known.csv', { asKnown: true });
  const serve = async () => getOnlineFeatures(project, await platform.online(), { entities: { k: ['u0', 'u1', 'u4'] }, features: ['stats:n', 'stats:total'] }, env.clock.now, await latestSnapshots(platform.metadata, project));
  const onlineBefore = await serve();
  const freshBefore = (await latestSnapshots(platform.metadata, project)).get('events')!;

  const report = await compactSource(platform, project, 'events', { policy });
  expect(report).toMatchObject({ filesBefore: 40, filesAfter: 1, replaced: 40, written: 1, rows: 120 });
  const after = (await platform.metadata.latestSnapshot('events'))!;
  expect(after).toMatchObject({ id: report.snapshot, parentId: before.id, rowCount: 120, addedRows: 0, operation: 'compaction' });
  expect(after.files).toHaveLength(1);

  // The same rows: every column, `_known_at`, `_seq` and the event ids, in order.
  const engine = await platform.engine();
  const rows = async (files: readonly string[]) => engine.all(`SELECT * FROM read_parquet([${files.map((f) => `'${platform.lake.resolve(f)}'`).join(', ')}]) ORDER BY _seq`);
  expect(await rows(after.files)).toEqual(await rows(before.files));

  // No new data: freshness and the online table's state are as before; the table reflects the compaction.
  const freshAfter = (await latestSnapshots(platform.metadata, project)).get('events')!;
  expect(freshAfter.createdAt).toBe(freshBefore.createdAt);
  const onlineAfter = await serve();
  expect(onlineBefore.rows.map((r) => r.stats__n)).toEqual([24, 24, 24]);
  expect(onlineAfter.rows).toEqual(onlineBefore.rows);
  expect(onlineAfter.stale).toBe(0);
  expect(onlineAfter.views.stats).toMatchObject({ status: 'FRESH', snapshots: { events: after.id } });

  // The same datasets; and one pinned to the snapshot before still reads its (old) files.
  const datasetAfter = await env.build('after.csv');
  expect(datasetAfter.text).toBe(datasetBefore.text);
  expect(datasetAfter.manifest.snapshots).toEqual({ events: after.id });
  expect((await env.build('after-known.csv', { asKnown: true })).text).toBe(asKnownBefore.text);
  expect((await env.build('pinned.csv', { snapshots: { events: before.id } })).text).toBe(datasetBefore.text);

  // Run history shows the pass.
  const [run] = await platform.metadata.listRuns(1, { job: 'compact' });
  expect(run).toMatchObject({ status: 'succeeded', params: { source: 'events' }, stats: { replaced: 40, written: 1 } });

  // Below the threshold, nothing is due.
  expect(await compactSource(platform, project, 'events', { policy })).toMatchObject({ snapshot: null, filesBefore: 1 });
});

test('the replaced files stay while an older snapshot lists them; gc removes them once retention expired those snapshots', async () => {
  const env = await streamed(6);
  const before = (await env.platform.metadata.latestSnapshot('events'))!;
  await compactSource(env.platform, env.project, 'events', { policy });
  const after = (await env.platform.metadata.latestSnapshot('events'))!;
  await collectGarbage(env.platform, { minAgeMs: 0 });
  for (const f of [...before.files, ...after.files]) expect(existsSync(env.platform.lake.resolve(f))).toBe(true);
  await env.platform.metadata.purge.expireSnapshots('events', after.createdAt + 1);
  await collectGarbage(env.platform, { minAgeMs: 0 });
  for (const f of before.files) expect(existsSync(env.platform.lake.resolve(f))).toBe(false);
  for (const f of after.files) expect(existsSync(env.platform.lake.resolve(f))).toBe(true);
  expect((await env.build('d.csv')).manifest.rowCount).toBe(10);
});

test('an erasure after a compaction removes the subject from the compacted file and from the older snapshots', async () => {
  const env = await streamed(8);
  await compactSource(env.platform, env.project, 'events', { policy });
  await eraseSubject(env.platform, env.project, { entity: 'user', key: ['u2'], reason: 'test', principal: admin });
  const engine = await env.platform.engine();
  const files = [...(await env.platform.metadata.referencedFiles())].map((f) => `'${env.platform.lake.resolve(f)}'`);
  expect(await engine.all(`SELECT * FROM read_parquet([${files.join(', ')}]) WHERE k = 'u2'`)).toEqual([]);
  expect((await env.build('d.csv')).text).not.toContain('u2');
});

test('a compaction stopped between writing its files and committing leaves the old snapshot current and no file of its own', async () => {
  const env = await streamed(5);
  const before = (await env.platform.metadata.latestSnapshot('events'))!;
  const filesBefore = (await env.platform.lake.listFiles()).map((f) => f.file).sort();
  const off = onTestPause('compact.published', () => {
    throw new Error('killed');
  });
  try {
    await expect(compactSource(env.platform, env.project, 'events', { policy })).rejects.toThrow('killed');
  } finally {
    off();
  }
  expect((await env.platform.metadata.latestSnapshot('events'))!.id).toBe(before.id);
  expect((await env.platform.lake.listFiles()).map((f) => f.file).sort()).toEqual(filesBefore);
  expect((await env.platform.metadata.listRuns(1, { job: 'compact' }))[0]).toMatchObject({ status: 'failed' });
});

test('a micro-batch committed while a compaction runs stays in its snapshot; a file it read that a purge replaced meanwhile fails the commit (CONFLICT), nothing lost or resurrected', async () => {
  const env = await streamed(4);
  const off = onTestPause('compact.published', () => env.push(100));
  try {
    await compactSource(env.platform, env.project, 'events', { policy });
  } finally {
    off();
  }
  const latest = (await env.platform.metadata.latestSnapshot('events'))!;
  expect(latest).toMatchObject({ rowCount: 15, operation: 'compaction' });
  expect(latest.files).toHaveLength(2);
  await env.push(101);
  await env.push(102);

  // A purge's swap lands between the compaction's read and its commit.
  const read = (await env.platform.metadata.latestSnapshot('events'))!;
  const victim = read.files.at(-1)!;
  const off2 = onTestPause('compact.published', async () => {
    await env.platform.metadata.purge.rewriteSnapshotFiles({ source: 'events', replaced: { [victim]: null }, removedRows: { [victim]: 3 }, reason: 'erasure', at: env.clock.now });
  });
  const published = new Set((await env.platform.lake.listFiles()).map((f) => f.file));
  try {
    await expect(compactSource(env.platform, env.project, 'events', { policy })).rejects.toBeInstanceOf(ConflictError);
  } finally {
    off2();
  }
  const now = (await env.platform.metadata.latestSnapshot('events'))!;
  expect(now.operation).toBeUndefined();
  expect(now.files).not.toContain(victim);
  expect(now.rowCount).toBe(read.rowCount - 3);
  for (const f of await env.platform.lake.listFiles()) expect(published.has(f.file)).toBe(true);
});

test('gc while a compaction runs keeps the files it wrote and has not committed yet; after a crash, gc removes them', async () => {
  const env = await streamed(4);
  const off = onTestPause('compact.published', async () => {
    await collectGarbage(env.platform, { minAgeMs: 0 });
  });
  try {
    await compactSource(env.platform, env.project, 'events', { policy });
  } finally {
    off();
  }
  const latest = (await env.platform.metadata.latestSnapshot('events'))!;
  for (const f of latest.files) expect(existsSync(env.platform.lake.resolve(f))).toBe(true);
  expect((await env.build('d.csv')).manifest.rowCount).toBe(10);

  // A crash after the files were published: their run is dead, nothing lists them, gc removes them.
  await env.push(7);
  await env.push(8);
  let orphans: string[] = [];
  const off2 = onTestPause('compact.published', async () => {
    const listed = await env.platform.metadata.referencedFiles();
    orphans = (await env.platform.lake.listFiles()).filter((f) => !f.staging && !listed.has(f.file)).map((f) => f.file);
    // What a kill leaves: the files, and a run no process runs any more.
    const [run] = await env.platform.metadata.listRuns(1, { job: 'compact' });
    await env.platform.metadata.finishRun(run!.id, { status: 'failed', error: 'killed' });
    await collectGarbage(env.platform, { minAgeMs: 0 });
    throw new Error('killed');
  });
  try {
    await expect(compactSource(env.platform, env.project, 'events', { policy })).rejects.toThrow('killed');
  } finally {
    off2();
  }
  expect(orphans).toHaveLength(1);
  expect(existsSync(env.platform.lake.resolve(orphans[0]!))).toBe(false);
});

test('the stream runtime compacts a source after a commit once it has minFiles small files, bounded by maxFiles per pass, each pass a compact run', async () => {
  const env = await streamed(12, { minFiles: 4, maxFiles: 6 });
  const latest = (await env.platform.metadata.latestSnapshot('events'))!;
  expect(latest.rowCount).toBe(36);
  expect(latest.files.length).toBeLessThan(4);
  const runs = await env.platform.metadata.listRuns(100, { job: 'compact' });
  expect(runs.length).toBeGreaterThan(1);
  expect(runs.every((r) => r.status === 'succeeded' && Number(r.stats?.replaced) <= 6)).toBe(true);
  const snapshots = await env.platform.metadata.listSnapshots({ source: 'events' });
  expect(snapshots.filter((s) => s.operation === 'compaction')).toHaveLength(runs.length);
  expect((await env.build('d.csv')).manifest.rowCount).toBe(10);
});
