import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, last, sqlTransform } from '../../src/definitions/index.js';
import { ingestFile } from '../../src/ingest/ingest-file.js';
import { openPlatform, type Platform } from '../../src/platform.js';
import { materialize } from '../../src/processing/materialize.js';
import { runTransform } from '../../src/processing/transforms/run-transform.js';
import { buildDataset } from '../../src/serving/datasets/build-dataset.js';
import { getOnlineFeatures } from '../../src/serving/online-features.js';
import { latestSnapshots } from '../../src/serving/latest-snapshots.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({ name: 'payments', schema: { account_id: 'string', note: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const copied = sqlTransform({ name: 'copied', inputs: [payments], sql: 'SELECT account_id, note, ts FROM payments', timestamp: 'ts', schema: { account_id: 'string', note: 'string', ts: 'timestamp' } });
const stats = featureView({ name: 'stats', entity: account, source: copied, features: { n: count(), note: last('note') } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments], transforms: [copied], featureViews: [stats], featureServices: [featureService({ name: 's', features: [stats] })] });

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

test('paths are files, not globs: a project in "run[1]" beside a "run1" and a spine named "a*.csv" beside "ab.csv" read exactly their own files on every path', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-globs-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  // "run[1]" read as a glob is "run1": a decoy project with the same layout, that must never be read.
  const decoy = join(root, 'run1');
  const dir = join(root, 'run[1]');
  mkdirSync(dir);
  const open = async (projectDir: string, note: string): Promise<Platform> => {
    const platform = openPlatform({ projectDir, now: () => Date.UTC(2024, 1, 1), threads: 1, projectSpec: spec });
    cleanup.push(() => platform.close());
    await platform.metadata.recordRegistry(compileProject(spec));
    writeFileSync(join(projectDir, 'p.csv'), `account_id,note,ts\na1,${note},2024-01-01T00:00:00Z\n`);
    await ingestFile(platform, compileProject(spec), 'payments', join(projectDir, 'p.csv'));
    return platform;
  };
  mkdirSync(decoy);
  await open(decoy, 'decoy');
  const platform = await open(dir, 'real');
  const project = compileProject(spec);
  await runTransform(platform, project, 'copied');
  await materialize(platform, project);
  const online = await getOnlineFeatures(project, await platform.online(), { entities: { account_id: ['a1'] }, service: 's' }, Date.UTC(2024, 1, 1), await latestSnapshots(platform.metadata, project));
  expect(online.rows[0]).toEqual({ account_id: 'a1', stats__n: 1, stats__note: 'real' });
  writeFileSync(join(dir, 'a*.csv'), 'account_id,ts\na1,2024-01-02T00:00:00Z\n');
  writeFileSync(join(dir, 'ab.csv'), 'account_id,ts\nzz,2024-01-02T00:00:00Z\nzz,2024-01-03T00:00:00Z\n');
  const manifest = await buildDataset(platform, project, { service: 's', spine: join(dir, 'a*.csv'), out: join(dir, 'out.csv'), timestampColumn: 'ts' });
  expect(manifest.rowCount).toBe(1);
});
