import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, compileProject, count, dataset, defineProject, entity, featureService, featureView, type ProjectSpec } from '../../src/definitions/index.js';
import { runJob } from '../../src/orchestration/run-job.js';
import { tempPlatform } from '../support/temp-platform.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const schema = { account_id: 'string', amount: 'float64', ts: 'timestamp' } as const;
const spec = (path: string, datasetPaths = { spine: 'data/spine.csv', out: 'datasets/train.parquet' }): ProjectSpec => {
  const payments = batchSource({ name: 'payments', schema, timestamp: 'ts', path });
  const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count() } });
  return defineProject({
    name: 'p', entities: [account], sources: [payments], featureViews: [stats], featureServices: [featureService({ name: 'scoring', features: [stats] })],
    datasets: [dataset({ name: 'train', service: 'scoring', ...datasetPaths })],
  });
};

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

test.each([
  ['../../etc/*.csv', 'has a ".." segment, which leads out of the project directory'],
  ['data/../../secrets/*.csv', 'has a ".." segment, which leads out of the project directory'],
  ['/etc/passwd', 'is absolute'],
  ['C:\\Windows\\*.csv', 'is absolute'],
  ['\\\\server\\share\\*.csv', 'is absolute'],
  ['~/exports/*.csv', 'starts with ~ (a home directory)'],
  ['data/\0.csv', 'holds a NUL byte'],
])('a source path %j is refused at load: %s', (path, why) => {
  expect(() => compileProject(spec(path))).toThrow(`source "payments": path ${JSON.stringify(path)} ${why}; paths in definitions are relative to the project directory and stay inside it, e.g. "data/payments/*.csv" (for a file elsewhere, pass it on the command line: sluice ingest SOURCE --file PATH)`);
});

test.each([
  [{ spine: '../spine.csv', out: 'datasets/train.parquet' }, 'spine "../spine.csv" has a ".." segment'],
  [{ spine: 'data/spine.csv', out: '/home/user/.cache/train.parquet' }, 'out "/home/user/.cache/train.parquet" is absolute'],
  [{ spine: 'data/spine.csv', out: 'datasets/../../../train.csv' }, 'out "datasets/../../../train.csv" has a ".." segment'],
])('dataset paths %j are refused at load', (paths, message) => {
  expect(() => compileProject(spec('data/*.csv', paths))).toThrow(`dataset "train": ${message}`);
});

async function projectWithOutside() {
  const outside = mkdtempSync(join(tmpdir(), 'sluice-outside-'));
  cleanup.push(() => rmSync(outside, { recursive: true, force: true }));
  writeFileSync(join(outside, 'payments.csv'), 'account_id,amount,ts\na1,1,2024-01-01T00:00:00Z\n');
  writeFileSync(join(outside, 'spine.csv'), 'account_id,ts\na1,2024-01-02T00:00:00Z\n');
  return outside;
}

test('a symbolic link inside the project cannot lead an ingest job out of it: refused naming where it leads, audited, nothing ingested', async () => {
  const outside = await projectWithOutside();
  const t = await tempPlatform(spec('data/*.csv'), Date.UTC(2024, 1, 1));
  cleanup.push(t.dispose);
  symlinkSync(outside, join(t.dir, 'data'));
  const run = runJob({ ...t.platform, projectDir: t.dir }, t.project, 'ingest:payments');
  await expect(run).rejects.toMatchObject({ code: 'POLICY_DENIED' });
  await expect(runJob({ ...t.platform, projectDir: t.dir }, t.project, 'ingest:payments')).rejects.toThrow(/source "payments": path matches ".*payments\.csv" leads to .*sluice-outside-.*payments\.csv, outside the project directory .*; files named in definitions stay inside the project: move the file into it, or name it on the command line/);
  expect(await t.platform.metadata.latestSnapshot('payments')).toBeUndefined();
  const [record] = await t.platform.metadata.audit.list();
  expect(record).toMatchObject({ action: 'ingest.run', target: 'source:payments', outcome: 'denied', origin: 'local', actor: expect.stringMatching(/^cli:/), details: { reason: 'path outside the project directory' } });
});

test('a dataset job neither reads a spine nor writes its output through a link out of the project', async () => {
  const outside = await projectWithOutside();
  const t = await tempPlatform(spec('data/*.csv'), Date.UTC(2024, 1, 1));
  cleanup.push(t.dispose);
  mkdirSync(join(t.dir, 'data'));
  writeFileSync(join(t.dir, 'data', 'spine.csv'), 'account_id,ts\na1,2024-01-02T00:00:00Z\n');
  symlinkSync(outside, join(t.dir, 'datasets'));
  await expect(runJob({ ...t.platform, projectDir: t.dir }, t.project, 'dataset:train', { trigger: 'schedule' })).rejects.toThrow(/dataset "train": out "datasets\/train.parquet" leads to .*sluice-outside-.*train\.parquet, outside the project directory/);
  expect(existsSync(join(outside, 'train.parquet'))).toBe(false);
  expect((await t.platform.metadata.audit.list())[0]).toMatchObject({ actor: 'scheduler', action: 'dataset.build', target: 'dataset:train', outcome: 'denied' });
  rmSync(join(t.dir, 'datasets'));
  rmSync(join(t.dir, 'data'), { recursive: true });
  symlinkSync(outside, join(t.dir, 'data'));
  await expect(runJob({ ...t.platform, projectDir: t.dir }, t.project, 'dataset:train')).rejects.toThrow(/dataset "train": spine "data\/spine.csv" leads to .*sluice-outside-.*spine\.csv, outside the project directory/);
  // Inside the project, the same job builds.
  rmSync(join(t.dir, 'data'));
  mkdirSync(join(t.dir, 'data'));
  writeFileSync(join(t.dir, 'data', 'spine.csv'), 'account_id,ts\na1,2024-01-02T00:00:00Z\n');
  await expect(runJob({ ...t.platform, projectDir: t.dir }, t.project, 'dataset:train')).resolves.toMatchObject({ rowsOut: 1 });
  expect(existsSync(join(t.dir, 'datasets', 'train.parquet'))).toBe(true);
});
