import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { avg, defineProject, entity, featureView, streamSource, sum } from '../src/definitions/index.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { datasetIdOf } from '../src/serving/datasets/dataset-id.js';
import { rebuildDataset } from '../src/serving/datasets/rebuild-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { getOnlineFeaturesSliced, ROWS_PER_SLICE } from '../src/serving/http/sliced-online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

// A sum of finite values whose exact result is beyond the float64 range (about ±1.8e308) has no
// float64 value: one rule on both paths (null, status ERROR online; null in datasets, counted in
// the manifest), never a bare Infinity token in a JSONL dataset or `inf` in a CSV one. Its
// average has one (the exact sum over the count, rounded once), the same on both paths.
const T0 = Date.parse('2024-01-01T00:00:00Z');
const user = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({ name: 'events', timestamp: 'ts', schema: { k: 'string', v: 'float64', ts: 'timestamp' } });
const totals = featureView({ name: 'totals', entity: user, source: events, features: { total: sum('v'), mean: avg('v') } });
const spec = defineProject({ name: 'o', entities: [user], sources: [events], featureViews: [totals] });
const FEATURES = ['totals:total', 'totals:mean'];

test('a sum past the float64 range is null with status ERROR online and null in every dataset format, on both paths alike', async () => {
  const env = await tempPlatform(spec, T0 + 60_000);
  const runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
  try {
    const values: Record<string, number[]> = { up: [1.7e308, 1.7e308], down: [-1.7e308, -1.7e308], fine: [1.7e308, -1.7e308, 2] };
    const texts = Object.entries(values).flatMap(([k, vs]) => vs.map((v, i) => JSON.stringify({ k, v, ts: new Date(T0 + i).toISOString() })));
    await runtime.processor.append('events', { texts }, 'push');
    await runtime.commitNow();
    const keys = Object.keys(values);
    const online = await getOnlineFeatures(env.project, await env.platform.online(), { features: FEATURES, entities: { k: keys } }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project));
    // The mean of a sum past the range is within it: the exact sum over the count, rounded once.
    expect(online.rows.map((r) => [r.totals__total, r.totals__mean])).toEqual([[null, 1.7e308], [null, -1.7e308], [2, 2 / 3]]);
    expect(online.metadata.map((m) => m.status)).toEqual([['ERROR', 'PRESENT'], ['ERROR', 'PRESENT'], ['PRESENT', 'PRESENT']]);
    // The answer counts its ERROR values, request views or not.
    expect(online.errors).toBe(2);
    // Answered in slices, as the server answers many entities: an ERROR past the first slice counts too.
    const many = [...Array.from({ length: ROWS_PER_SLICE }, () => 'fine'), 'up'];
    const sliced = await getOnlineFeaturesSliced(env.project, await env.platform.online(), { features: FEATURES, entities: { k: many } }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project));
    expect([sliced.rows.length, sliced.errors]).toEqual([ROWS_PER_SLICE + 1, 1]);
    const none = await getOnlineFeatures(env.project, await env.platform.online(), { features: FEATURES, entities: { k: ['fine'] } }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project));
    expect(none.errors).toBeUndefined();

    const spine = join(env.dir, 'spine.jsonl');
    writeFileSync(spine, keys.map((k) => JSON.stringify({ k, ts: new Date(env.clock.now).toISOString() })).join('\n') + '\n');
    const jsonl = join(env.dir, 'out.jsonl');
    const manifest = await buildDataset(env.platform, env.project, { spine, out: jsonl, features: FEATURES });
    // Every line is valid JSON, and holds what online serves.
    const rows = readFileSync(jsonl, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => [r.totals__total, r.totals__mean])).toEqual(online.rows.map((r) => [r.totals__total, r.totals__mean]));
    expect(manifest.overflows).toEqual({ totals__total: 2 });
    // The overflowed cells are part of the dataset's id: the same inputs read by a rule that overflowed no cell are another dataset.
    expect(manifest.datasetId).toBe(datasetIdOf(manifest));
    expect(manifest.datasetId).not.toBe(datasetIdOf({ ...manifest, overflows: undefined }));
    // A manifest whose id left its overflows out (written before they were part of the id), and
    // one whose counts differ (written by a version that summed otherwise): a rebuild is another
    // dataset, and says why, not "its inputs differ".
    const manifestPath = `${jsonl}.manifest.json`;
    const legacyId = datasetIdOf({ ...manifest, overflows: undefined });
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, datasetId: legacyId }));
    const rebuilt = await rebuildDataset(env.platform, env.project, manifestPath, { out: join(env.dir, 'again.jsonl') });
    expect(rebuilt.datasetId).toBe(manifest.datasetId);
    expect(rebuilt.rebuildOf).toEqual({ datasetId: legacyId, differences: [`its id ${legacyId} leaves out what its manifest states about its values (an id derived before overflows and request errors were part of it): the same values are ${manifest.datasetId}`] });
    const counted1 = { ...manifest, overflows: { totals__total: 1 } };
    writeFileSync(manifestPath, JSON.stringify({ ...counted1, datasetId: datasetIdOf(counted1) }));
    const recounted = await rebuildDataset(env.platform, env.project, manifestPath, { out: join(env.dir, 'again.jsonl') });
    expect(recounted.rebuildOf?.differences).toEqual(['overflowed cells (null past the float64 range) differ: totals__total 2, was 1']);
    const csv = join(env.dir, 'out.csv');
    await buildDataset(env.platform, env.project, { spine, out: csv, features: FEATURES });
    expect(readFileSync(csv, 'utf8')).not.toMatch(/inf/i);

    // The manifest counts null cells, not points: a spine row repeated (same key, same ts, one
    // point evaluated once) is a cell of its own, and counts again.
    const repeated = join(env.dir, 'repeated.csv');
    const at = (ms: number) => new Date(ms).toISOString();
    writeFileSync(repeated, ['k,ts', `up,${at(env.clock.now)}`, `up,${at(env.clock.now)}`, `fine,${at(env.clock.now)}`, `up,${at(env.clock.now)}`, `up,${at(T0 + 30_000)}`, `down,${at(env.clock.now)}`].join('\n') + '\n');
    const out = join(env.dir, 'repeated.jsonl');
    const counted = await buildDataset(env.platform, env.project, { spine: repeated, out, features: FEATURES });
    const cells = readFileSync(out, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as Record<string, unknown>).totals__total);
    expect(cells).toEqual([null, null, 2, null, null, null]);
    expect(counted.overflows).toEqual({ totals__total: 5 });
  } finally {
    await runtime.close();
    await env.dispose();
  }
});
