import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { servedView } from '../src/serving/served-table.js';
import { applySnapshotOnline } from '../src/streaming/apply-snapshot.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

// A materialize that reads the lake's snapshot, then sees micro-batches of pushed events committed
// to the lake before it switches its table in: driven through the test-pause point (no sleeps).
const T0 = Date.parse('2024-01-01T00:00:00Z');
const user = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({ name: 'events', schema: { id: 'string', k: 'string', ts: 'timestamp' }, timestamp: 'ts', eventId: 'id' });
const stats = featureView({ name: 'stats', entity: user, source: events, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [user], sources: [events], featureViews: [stats] });

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const env = await tempPlatform(spec, T0);
  cleanup.push(env.dispose);
  const runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
  cleanup.push(() => runtime.close());
  let n = 0;
  const push = async (k = 'a') => {
    await runtime.processor.append('events', { texts: [JSON.stringify({ id: `e${n++}`, k, ts: new Date(T0 - 1000).toISOString() })] }, 'push');
  };
  const pushAndCommit = async () => {
    await push();
    await runtime.commitNow();
  };
  await pushAndCommit();
  await materialize(env.platform, env.project);
  const marker = async () => (await (await env.platform.online()).viewInfo('stats'))!.snapshots.events?.version ?? 0;
  const served = async () => servedView(await (await env.platform.online()).viewInfo('stats'), env.project.featureViews[0]!.hash, await latestSnapshots(env.platform.metadata, env.project));
  const latestVersion = async () => (await env.platform.metadata.latestSnapshot('events'))!.version;
  return { env, runtime, push, pushAndCommit, marker, served, latestVersion };
}

/** Runs a materialize that, once it has read the lake's snapshot, waits for `during` (lake commits) before it builds its table. */
async function materializeAround(t: Awaited<ReturnType<typeof setup>>, during: () => Promise<void>) {
  let fired = false;
  cleanup.push(onTestPause('materialize.snapshot-read', async () => {
    if (fired) return;
    fired = true;
    await during();
  }));
  await materialize(t.env.platform, t.env.project);
}

test('a table switched in while two micro-batches were committed reflects the latest snapshot it holds, and follows the next commits', async () => {
  const t = await setup();
  await materializeAround(t, async () => {
    await t.pushAndCommit();
    await t.pushAndCommit();
  });
  // The table holds every log entry of the snapshots committed while it was built.
  expect(await t.marker()).toBe(await t.latestVersion());
  expect((await t.served()).status).toBe('FRESH');
  await t.pushAndCommit();
  expect(await t.marker()).toBe(await t.latestVersion());
  expect((await t.served()).status).toBe('FRESH');
});

test('a marker left several commits behind (a table written before this rule) moves forward at the next commit', async () => {
  const t = await setup();
  const online = await t.env.platform.online();
  await t.pushAndCommit();
  await t.pushAndCommit();
  const behind = (await t.env.platform.metadata.listSnapshots({ source: 'events', limit: 100 })).find((s) => s.version === 1)!;
  const info = (await online.viewInfo('stats'))!;
  await online.update('stats', info.generation, [], () => undefined, { snapshots: { events: { id: behind.id, version: behind.version } } });
  await t.pushAndCommit();
  expect(await t.marker()).toBe(await t.latestVersion());
  expect((await t.served()).status).toBe('FRESH');
  // A file ingested afterwards is applied to the table, not skipped.
  writeFileSync(join(t.env.dir, 'more.jsonl'), `${JSON.stringify({ id: 'f1', k: 'a', ts: new Date(T0 - 500).toISOString() })}\n`);
  const result = await ingestFile(t.env.platform, t.env.project, 'events', join(t.env.dir, 'more.jsonl'));
  const applied = await applySnapshotOnline(t.env.platform, t.env.project, t.env.project.sources[0]!, (await t.env.platform.metadata.snapshot(result.snapshot!))!);
  expect(applied).toEqual({ applied: ['stats'], skipped: [] });
});

test('a table that misses a snapshot between its own and the latest (an ingested file) stays STALE and says which', async () => {
  const t = await setup();
  const online = await t.env.platform.online();
  const before = await t.latestVersion();
  writeFileSync(join(t.env.dir, 'more.jsonl'), `${JSON.stringify({ id: 'f1', k: 'a', ts: new Date(T0 - 500).toISOString() })}\n`);
  await ingestFile(t.env.platform, t.env.project, 'events', join(t.env.dir, 'more.jsonl'));
  await t.pushAndCommit();
  await t.pushAndCommit();
  const info = (await online.viewInfo('stats'))!;
  expect(info.snapshots.events?.version).toBe(before);
  expect(await t.marker()).toBe(before);
  const served = await t.served();
  expect(served.status).toBe('STALE');
  expect(served.reason).toContain(`version ${before}`);
  expect(served.reason).toContain(`version ${await t.latestVersion()}`);
});
