import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { collectGarbage } from '../src/orchestration/garbage-collect.js';
import { ownProcessTag } from '../src/orchestration/process-identity.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { startChild } from './support/child-process.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'g', entities: [customer], sources: [txns], featureViews: [stats] });

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A platform with one ingested file and a dataset built to out/t.csv (so gc looks for its temporaries). */
async function platformWithDataset() {
  const t = await tempPlatform(spec, Date.parse('2024-01-02T00:00:00Z'));
  cleanup.push(t.dispose);
  const { platform, project, dir } = t;
  writeFileSync(join(dir, 'a.csv'), 'customer_id,ts\nc1,2024-01-01T00:00:00Z\n');
  writeFileSync(join(dir, 'spine.csv'), 'customer_id,ts\nc1,2024-01-01T12:00:00Z\n');
  await ingestFile(platform, project, 'txns', join(dir, 'a.csv'));
  await buildDataset(platform, project, { spine: join(dir, 'spine.csv'), features: ['stats:n'], out: join(dir, 'out', 't.csv') });
  return { platform, dir };
}

test('gc removes exactly what no snapshot, live ingest or live process references, and reports bytes per kind', async () => {
  const { platform, dir } = await platformWithDataset();
  const lake = join(dir, '.sluice', 'lake', 'txns');
  // A published file whose commit never happened, a crashed ingest's staged file, a dead build's temporaries.
  writeFileSync(join(lake, 'orphan.parquet'), 'x'.repeat(100));
  mkdirSync(join(lake, '_staging'), { recursive: true });
  writeFileSync(join(lake, '_staging', 'crashed.parquet'), 'y'.repeat(30));
  const dead = await startChild('ready();');
  await dead.kill();
  writeFileSync(join(dir, 'out', `t.csv.tmp-${dead.pid}`), 'z'.repeat(7));
  writeFileSync(join(dir, 'out', `t.csv.manifest.json.tmp-${dead.pid}`), 'z'.repeat(3));
  const committed = (await platform.metadata.latestSnapshot('txns'))!.files.map((f) => platform.lake.resolve(f));

  // While an ingest of the source runs in a live process, its source's unreferenced files are kept.
  const ingesting = await startChild(`
    const { openPlatform } = await dist('platform.js');
    const { trackRun } = await dist('orchestration/track-run.js');
    const p = openPlatform({ projectDir: ${JSON.stringify(dir)} });
    await trackRun(p, 'ingest', { source: 'txns' }, () => { ready(); return new Promise(() => {}); });
  `);
  const during = await collectGarbage(platform, { minAgeMs: 0 });
  expect(during.map((r) => [r.kind, r.files.length, r.bytes])).toEqual([['purge-leftovers', 0, 0], ['lake-unreferenced', 0, 0], ['lake-staging', 0, 0], ['dataset-temp', 2, 10], ['serving-log-temp', 0, 0], ['online-generations', 0, 0]]);
  await ingesting.kill();

  writeFileSync(join(dir, 'out', `t.csv.tmp-${dead.pid}`), 'z'.repeat(7));
  const dry = await collectGarbage(platform, { minAgeMs: 0, dryRun: true });
  expect(dry.map((r) => [r.kind, r.bytes])).toEqual([['purge-leftovers', 0], ['lake-unreferenced', 100], ['lake-staging', 30], ['dataset-temp', 7], ['serving-log-temp', 0], ['online-generations', 0]]);
  expect(existsSync(join(lake, 'orphan.parquet'))).toBe(true);
  // Young files are kept by default: a writer of an older version holds no lease.
  expect((await collectGarbage(platform, { dryRun: true })).every((r) => r.kind === 'dataset-temp' || r.files.length === 0)).toBe(true);

  const removed = await collectGarbage(platform, { minAgeMs: 0 });
  expect(removed.map((r) => [r.kind, r.files.length, r.bytes])).toEqual([['purge-leftovers', 0, 0], ['lake-unreferenced', 1, 100], ['lake-staging', 1, 30], ['dataset-temp', 1, 7], ['serving-log-temp', 0, 0], ['online-generations', 0, 0]]);
  expect(existsSync(join(lake, 'orphan.parquet'))).toBe(false);
  expect(existsSync(join(lake, '_staging', 'crashed.parquet'))).toBe(false);
  expect(committed.every((f) => existsSync(f))).toBe(true);
  expect(existsSync(join(dir, 'out', 't.csv'))).toBe(true);
  expect((await collectGarbage(platform, { minAgeMs: 0 })).every((r) => r.files.length === 0)).toBe(true);
});

test('gc keeps a dataset temporary whose writer is a process of another pid namespace, and reports it as held there (not silently)', async () => {
  const { platform, dir } = await platformWithDataset();
  const [pid, ticks, , boot] = ownProcessTag().split('.');
  const elsewhere = join(dir, 'out', `t.csv.tmp-${pid}.${ticks}.1.${boot}`);
  writeFileSync(elsewhere, 'z'.repeat(5));
  const report = (await collectGarbage(platform, { minAgeMs: 0 })).find((r) => r.kind === 'dataset-temp')!;
  expect(report).toMatchObject({ files: [], bytes: 0, heldElsewhere: [elsewhere] });
  expect(existsSync(elsewhere)).toBe(true);
});

test('the dataset and serving-log temporary collectors judge writers by one rule: the same writers are removed, kept, or reported as held elsewhere', async () => {
  const { platform, dir } = await platformWithDataset();
  const hours = join(dir, '.sluice', 'serving-log', 'svc');
  mkdirSync(hours, { recursive: true });
  writeFileSync(join(hours, '2024-01-01T00.jsonl'), '');
  const dead = await startChild('ready();');
  await dead.kill();
  const [pid, ticks, , boot] = ownProcessTag().split('.');
  // Dead, this process, and a process of another pid namespace (its pid cannot be looked at).
  const writers = { dead: String(dead.pid), own: ownProcessTag(), elsewhere: `${pid}.${ticks}.1.${boot}` };
  for (const [name, tag] of Object.entries(writers)) {
    writeFileSync(join(dir, 'out', `t.csv.tmp-${tag}`), name);
    writeFileSync(join(hours, `2024-01-01T00.jsonl.tmp-${tag}`), name);
  }
  const reports = await collectGarbage(platform, { minAgeMs: 0, dryRun: true });
  const judged = (kind: string) => {
    const r = reports.find((x) => x.kind === kind)!;
    const fates = (files: readonly string[] | undefined) => (files ?? []).map((f) => f.slice(f.lastIndexOf('.tmp-') + 5)).sort();
    return { removed: fates(r.files), heldElsewhere: fates(r.heldElsewhere) };
  };
  expect(judged('dataset-temp')).toEqual({ removed: [writers.dead], heldElsewhere: [writers.elsewhere] });
  expect(judged('serving-log-temp')).toEqual(judged('dataset-temp'));
});
