import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, entity, featureView, schedule, sqlTransform, type ProjectSpec } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { compactSource } from '../src/orchestration/compact-lake.js';
import { createScheduler } from '../src/orchestration/scheduler.js';
import type { JobContext } from '../src/orchestration/run-job.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { transformTableState } from '../src/processing/transforms/transform-freshness.js';
import { materialize } from '../src/processing/materialize.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { servedView } from '../src/serving/served-table.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { fakeClock } from './support/fake-clock.js';
import { tempPlatform } from './support/temp-platform.js';

// A compaction is no new data: it triggers no job, leaves a transform up to date and a file
// source's online table FRESH.

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({ name: 'payments', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const doubled = sqlTransform({ name: 'doubled', inputs: [payments], sql: 'SELECT account_id, amount * 2 AS amount, ts FROM payments', timestamp: 'ts', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' } });
const spend = featureView({ name: 'spend', entity: account, source: payments, features: { n: count() } });
const spec: ProjectSpec = { kind: 'project', name: 'c', entities: [account], sources: [payments], featureViews: [spend], transforms: [doubled], schedules: [schedule({ job: spend, onNewSnapshot: payments })] };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test('a compaction of a file source triggers no onNewSnapshot job, leaves its transform up to date and its online table FRESH; new data still triggers', async () => {
  const t = await tempPlatform(spec, T0);
  cleanups.push(t.dispose);
  const { platform, project } = t;
  const ingest = async (name: string) => {
    writeFileSync(join(t.dir, name), `account_id,amount,ts\n${name},10,2026-01-01T00:00:00Z\n`);
    await ingestFile(platform, project, 'payments', join(t.dir, name));
  };
  for (const name of ['a.csv', 'b.csv', 'c.csv']) await ingest(name);
  const jc: JobContext = { ...platform, projectDir: t.dir };
  const scheduler = createScheduler(jc, { project: () => platform.project(), clock: fakeClock(T0) });
  expect(await scheduler.tick()).toEqual([]);
  await runTransform(platform, project, 'doubled');
  await materialize(platform, project);
  expect((await transformTableState(platform, project.transforms![0]!)).upToDate).toBe(true);

  const report = await compactSource(platform, project, 'payments', { policy: { minFiles: 2 } });
  expect(report).toMatchObject({ filesBefore: 3, filesAfter: 1 });
  expect(await scheduler.tick()).toEqual([]);
  expect((await transformTableState(platform, project.transforms![0]!)).upToDate).toBe(true);
  await expect(compactSource(platform, project, 'doubled', { policy: { minFiles: 2 } })).rejects.toThrow('transform tables are not compacted');
  const info = await (await platform.online()).viewInfo('spend');
  expect(servedView(info, project.featureViews[0]!.hash, await latestSnapshots(platform.metadata, project))).toMatchObject({ status: 'FRESH', snapshots: { payments: report.snapshot } });

  await ingest('d.csv');
  const latest = (await platform.metadata.latestSnapshot('payments'))!;
  expect(await scheduler.tick()).toEqual([`materialize:spend@${latest.id}`]);
  await scheduler.idle();
  expect((await transformTableState(platform, project.transforms![0]!)).upToDate).toBe(false);
});

test('a compaction committed while a materialize of a file source reads its snapshot leaves the new table FRESH (it holds the compaction: same rows)', async () => {
  const t = await tempPlatform(spec, T0);
  cleanups.push(t.dispose);
  const { platform, project } = t;
  for (const name of ['a.csv', 'b.csv']) {
    writeFileSync(join(t.dir, name), `account_id,amount,ts\n${name},10,2026-01-01T00:00:00Z\n`);
    await ingestFile(platform, project, 'payments', join(t.dir, name), { online: false });
  }
  let compacted: string | null = null;
  const off = onTestPause('materialize.snapshot-read', async () => {
    compacted = (await compactSource(platform, project, 'payments', { policy: { minFiles: 2 } })).snapshot;
  });
  try {
    await materialize(platform, project);
  } finally {
    off();
  }
  expect(compacted).not.toBeNull();
  const info = await (await platform.online()).viewInfo('spend');
  expect(servedView(info, project.featureViews[0]!.hash, await latestSnapshots(platform.metadata, project))).toMatchObject({ status: 'FRESH', snapshots: { payments: compacted } });
});
