import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { rebuildDataset } from '../src/serving/datasets/rebuild-dataset.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { purgeRows } from '../src/compliance/purge/index.js';
import type { Principal } from '../src/compliance/principal.js';
import { tempPlatform } from './support/temp-platform.js';

// Review rev7 findings 1-2: erasure treats a dataset's spine row of an erased subject as the
// subject's data (it rewrites the file without it), so no later build may write it back; and a
// rebuild whose inputs were rewritten since (erasure, retention) is not the same dataset: it
// says which snapshot was rewritten by what and when, instead of keeping the id silently.

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = batchSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count(), total: sum('amount') } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [payments], featureViews: [stats] });
const admin: Principal = { name: 'cli:test', roles: ['admin'], origin: 'local' };
const NOW = Date.parse('2026-02-01T00:00:00Z');

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  writeFileSync(join(t.dir, 'p.csv'), 'customer_id,amount,ts\nc1,10,2026-01-01T00:00:00Z\nc2,5,2026-01-01T01:00:00Z\nc1,7,2026-01-02T00:00:00Z\nc3,1,2026-01-02T05:00:00Z\n');
  await ingestFile(t.platform, t.project, 'payments', join(t.dir, 'p.csv'));
  const spine = join(t.dir, 'spine.csv');
  writeFileSync(spine, 'customer_id,ts,label\nc1,2026-01-03T00:00:00Z,1\nc2,2026-01-03T00:00:00Z,0\nc3,2026-01-03T00:00:00Z,0\n');
  const out = join(t.dir, 'out', 'train.csv');
  const built = await buildDataset(t.platform, t.project, { spine, features: ['stats:n', 'stats:total'], out });
  return { ...t, spine, out, built };
}

const manifestOf = (path: string) => JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')) as Record<string, unknown>;

test('after an erasure, a rebuild in place and a fresh build leave the subject out, count it, keep the purges history, and are not the original dataset', async () => {
  const { platform, project, spine, out, built, dir } = await setup();
  const original = join(dir, 'orig.manifest.json');
  writeFileSync(original, readFileSync(`${out}.manifest.json`));
  await eraseSubject(platform, project, { entity: 'customer', key: ['c2'], reason: 'test', principal: admin });
  expect(readFileSync(out, 'utf8')).not.toContain('c2');
  expect(manifestOf(out)).toMatchObject({ rowCount: 2, purges: [{ reason: 'erasure', action: 'rewritten', rows: 1 }] });

  // In place, from the dataset's own (erasure-updated) manifest.
  const inPlace = await rebuildDataset(platform, project, `${out}.manifest.json`);
  expect(readFileSync(out, 'utf8')).not.toContain('c2');
  expect(inPlace).toMatchObject({ rowCount: 2, erasedRows: 1, purges: [{ reason: 'erasure', action: 'rewritten', rows: 1 }] });
  expect(manifestOf(out)).toMatchObject({ rowCount: 2, erasedRows: 1, purges: [{ reason: 'erasure', action: 'rewritten' }] });
  const records = (await platform.metadata.listDatasets(10)).filter((r) => r.path === out);
  expect(records[0]).toMatchObject({ rowCount: 2, purges: [{ reason: 'erasure' }] });

  // From the original manifest to another path: not the same dataset, and it says why.
  const again = await rebuildDataset(platform, project, original, { out: join(dir, 'again.csv') });
  expect(again.datasetId).not.toBe(built.datasetId);
  expect(readFileSync(join(dir, 'again.csv'), 'utf8')).not.toContain('c2');
  expect(again.rebuildOf?.datasetId).toBe(built.datasetId);
  const snapshot = (await platform.metadata.latestSnapshot('payments'))!.id;
  expect(again.rebuildOf?.differences).toEqual([
    `snapshot ${snapshot} of payments was rewritten by erasure at ${new Date(NOW).toISOString()} (4 -> 3 rows)`,
    '1 spine row of erased subjects left out',
  ]);

  // A fresh build with the same spine over the same path.
  const fresh = await buildDataset(platform, project, { spine, features: ['stats:n', 'stats:total'], out });
  expect(fresh).toMatchObject({ rowCount: 2, erasedRows: 1, purges: [{ reason: 'erasure' }] });
  expect(readFileSync(out, 'utf8')).not.toContain('c2');
  // Same inputs, same block list, same rewrites: the same dataset again.
  expect(fresh.datasetId).toBe(inPlace.datasetId);
});

test('a rebuild with nothing rewritten is exact and says so', async () => {
  const { platform, project, out, built, dir } = await setup();
  const again = await rebuildDataset(platform, project, `${out}.manifest.json`, { out: join(dir, 'again.csv') });
  expect(again.datasetId).toBe(built.datasetId);
  expect(again.rebuildOf).toEqual({ datasetId: built.datasetId, differences: [] });
  expect(readFileSync(join(dir, 'again.csv'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  expect(again.erasedRows).toBeUndefined();
});

test('after retention, a rebuild from the original manifest says which snapshot retention rewrote, and the flagged dataset keeps its taint', async () => {
  const { platform, project, out, built, dir, clock } = await setup();
  const original = join(dir, 'orig.manifest.json');
  writeFileSync(original, readFileSync(`${out}.manifest.json`));
  clock.now += 60_000;
  // c1's events of 2026-01-01 expire: its count was 2 and its total 17.
  await purgeRows(platform, project, { source: 'payments', match: { kind: 'before', before: Date.parse('2026-01-01T12:00:00Z') }, reason: 'retention', principal: admin, datasets: 'flag' });
  expect(manifestOf(out)).toMatchObject({ purges: [{ reason: 'retention', action: 'flagged' }] });
  const again = await rebuildDataset(platform, project, original, { out: join(dir, 'again.csv') });
  expect(again.datasetId).not.toBe(built.datasetId);
  const snapshot = (await platform.metadata.latestSnapshot('payments'))!.id;
  expect(again.rebuildOf?.differences).toEqual([`snapshot ${snapshot} of payments was rewritten by retention at ${new Date(clock.now).toISOString()} (4 -> 2 rows)`]);
  // In place: the flagged taint stays in the history.
  const inPlace = await rebuildDataset(platform, project, `${out}.manifest.json`);
  expect(inPlace.purges).toEqual([expect.objectContaining({ reason: 'retention', action: 'flagged' })]);
});

test('a dataset rebuilt in place after an erasure is one record of its file, and two later rewrites of the file count each removed row once (wt-fixb defect 4)', async () => {
  const { platform, project, out, built } = await setup();
  await eraseSubject(platform, project, { entity: 'customer', key: ['c2'], reason: 'test', principal: admin });
  // The erasure rewrote the snapshot, so the rebuild in place is another dataset (another id) at the same path.
  const inPlace = await rebuildDataset(platform, project, `${out}.manifest.json`);
  expect(inPlace.datasetId).not.toBe(built.datasetId);
  const atOut = async () => (await platform.metadata.listDatasets(100)).filter((r) => r.path === out);
  expect((await atOut()).map((r) => [r.id, r.rowCount])).toEqual([[inPlace.datasetId, 2]]);

  // Two successive rewrites of the file: c3 (1 row of 2), then c1 (the last row).
  const first = await eraseSubject(platform, project, { entity: 'customer', key: ['c3'], reason: 'test', principal: admin });
  expect(first.certificate.stores.filter((s) => s.store.startsWith('dataset:')).map((s) => [s.store, s.rows])).toEqual([[`dataset:${inPlace.datasetId}`, 1]]);
  const second = await eraseSubject(platform, project, { entity: 'customer', key: ['c1'], reason: 'test', principal: admin });
  expect(second.certificate.stores.filter((s) => s.store.startsWith('dataset:')).map((s) => [s.store, s.rows])).toEqual([[`dataset:${inPlace.datasetId}`, 1]]);
  expect((await atOut()).map((r) => [r.id, r.rowCount, r.purges?.map((p) => [p.rows, p.action])])).toEqual([
    [inPlace.datasetId, 0, [[1, 'rewritten'], [1, 'rewritten'], [1, 'rewritten']]],
  ]);
  expect(manifestOf(out)).toMatchObject({ rowCount: 0 });
  expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1);
  // The lake file was rewritten in place too, three times: each rewrite counted once (4 -> 3 -> 2 -> 0 rows).
  const snapshot = (await platform.metadata.latestSnapshot('payments'))!;
  expect(snapshot.rowCount).toBe(0);
  expect((await platform.metadata.purge.snapshotRewrites({ snapshotId: snapshot.id })).map((r) => [r.rowsBefore, r.rowsAfter])).toEqual([[4, 3], [3, 2], [2, 0]]);
  expect(first.certificate.stores.find((s) => s.store === 'lake:payments')).toMatchObject({ rows: 1 });
  expect(second.certificate.stores.find((s) => s.store === 'lake:payments')).toMatchObject({ rows: 2 });
});
