import { linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, last, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { rebuildDataset } from '../src/serving/datasets/rebuild-dataset.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const totals = featureView({ name: 'totals', entity: customer, source: txns, features: { n: count(), total: sum('amount') } });
const latest = featureView({ name: 'latest', entity: customer, source: txns, features: { amount: last('amount') } });
const spec = defineProject({ name: 'd', entities: [customer], sources: [txns], featureViews: [totals, latest] });
const FEATURES = ['totals:n', 'totals:total', 'latest:amount'];

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const t = await tempPlatform(spec, Date.parse('2024-01-02T00:00:00Z'));
  cleanup.push(t.dispose);
  const write = (name: string, text: string) => {
    writeFileSync(join(t.dir, name), text);
    return join(t.dir, name);
  };
  await ingestFile(t.platform, t.project, 'txns', write('a.csv', 'customer_id,amount,ts\nc1,10,2024-01-01T00:00:00Z\nc2,5,2024-01-01T01:00:00Z\n'));
  const spine = write('spine.csv', 'customer_id,ts\nc1,2024-01-01T12:00:00Z\nc2,2024-01-01T12:00:00Z\n');
  const ingestMore = () => ingestFile(t.platform, t.project, 'txns', write('b.csv', 'customer_id,amount,ts\nc1,100,2024-01-01T02:00:00Z\n'));
  return { ...t, spine, ingestMore, out: (name: string) => join(t.dir, 'out', name) };
}

describe('datasets pin their snapshots and can be rebuilt from the manifest', () => {
  test('one snapshot per source for the whole build; a pinned build reads it, not the latest', async () => {
    const { platform, project, spine, ingestMore, out } = await setup();
    const first = await buildDataset(platform, project, { spine, features: FEATURES, out: out('a.csv') });
    expect(Object.keys(first.snapshots)).toEqual(['txns']);
    await ingestMore();
    const pinned = await buildDataset(platform, project, { spine, features: FEATURES, out: out('b.csv'), snapshots: first.snapshots });
    expect(pinned.snapshots).toEqual(first.snapshots);
    expect(pinned.datasetId).toBe(first.datasetId);
    expect(readFileSync(out('b.csv'), 'utf8')).toBe(readFileSync(out('a.csv'), 'utf8'));
    const current = await buildDataset(platform, project, { spine, features: FEATURES, out: out('c.csv') });
    expect(current.datasetId).not.toBe(first.datasetId);
    expect(readFileSync(out('c.csv'), 'utf8')).toContain('c1,2024-01-01T12:00:00Z,2,110.0,100.0');
    await expect(buildDataset(platform, project, { spine, features: FEATURES, out: out('d.csv'), snapshots: { txns: 'txns@9-gone' } })).rejects.toThrow('snapshot "txns@9-gone" of source "txns" does not exist');
  });

  test('a manifest rebuilds the same dataset (same id, same values) after new data arrived', async () => {
    const { platform, project, spine, ingestMore, out } = await setup();
    const first = await buildDataset(platform, project, { spine, features: FEATURES, out: out('train.parquet') });
    await ingestMore();
    const manifestPath = `${out('train.parquet')}.manifest.json`;
    const again = await rebuildDataset(platform, project, manifestPath, { out: out('again.parquet') });
    expect(again.datasetId).toBe(first.datasetId);
    const engine = await platform.engine();
    const rows = async (p: string) => engine.all(`SELECT * FROM read_parquet('${p}')`);
    expect(await rows(out('again.parquet'))).toEqual(await rows(out('train.parquet')));
    await expect(rebuildDataset(platform, project, manifestPath, { out: out('again.csv') })).rejects.toThrow('use a .parquet path');
  });

  test('a rebuild after the definitions changed uses the registry version the dataset was built with', async () => {
    const { platform, project, spine, out } = await setup();
    const first = await buildDataset(platform, project, { spine, features: FEATURES, out: out('t.csv') });
    const changed = compileProject(defineProject({ ...spec, featureViews: [featureView({ ...totals, features: { n: count(), total: sum('amount', { window: '1h' }) } }), latest] }));
    await platform.metadata.recordRegistry(changed);
    const again = await rebuildDataset(platform, changed, `${out('t.csv')}.manifest.json`, { out: out('again.csv') });
    expect(again.datasetId).toBe(first.datasetId);
    expect(readFileSync(out('again.csv'), 'utf8')).toBe(readFileSync(out('t.csv'), 'utf8'));
    const manifest = JSON.parse(readFileSync(`${out('t.csv')}.manifest.json`, 'utf8')) as { definitions: Record<string, string> };
    writeFileSync(out('odd.json'), JSON.stringify({ ...manifest, definitions: { ...manifest.definitions, totals: '0000' } }));
    // A manifest not beside its dataset names no output of its own: a rebuild needs --out.
    await expect(rebuildDataset(platform, changed, out('odd.json'))).rejects.toThrow(`manifest ${out('odd.json')} names ${out('t.csv')} as its dataset, which is not beside it (${out('t.csv')}.manifest.json); a rebuild writes only where you say: pass --out PATH`);
    await expect(rebuildDataset(platform, changed, out('odd.json'), { out: out('odd.csv') })).rejects.toThrow(/feature view "totals" changed \(definition 0000, now \w+\) and no applied registry version has the definitions/);
  });

  test('a rebuild names what changed: the spine content, a snapshot that no longer exists', async () => {
    const { platform, project, spine, out } = await setup();
    await buildDataset(platform, project, { spine, features: FEATURES, out: out('t.csv') });
    const manifestPath = `${out('t.csv')}.manifest.json`;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { snapshots: Record<string, string> };
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, snapshots: { txns: 'txns@7-deadbeef' } }));
    await expect(rebuildDataset(platform, project, manifestPath)).rejects.toThrow('snapshot "txns@7-deadbeef" of source "txns" does not exist');
    writeFileSync(spine, 'customer_id,ts\nc1,2024-01-01T13:00:00Z\n');
    await expect(rebuildDataset(platform, project, manifestPath)).rejects.toThrow(`spine ${spine} changed since dataset`);
  });

  test('every build is registered in the metadata store', async () => {
    const { platform, project, spine, out } = await setup();
    const manifest = await buildDataset(platform, project, { spine, features: FEATURES, out: out('t.jsonl') });
    expect(await platform.metadata.listDatasets(10)).toEqual([{
      id: manifest.datasetId, path: resolve(out('t.jsonl')), format: 'jsonl', spine: resolve(spine), spineSha256: manifest.spine.sha256, timestampColumn: 'ts',
      features: ['totals__n', 'totals__total', 'latest__amount'], definitions: manifest.definitions, snapshots: manifest.snapshots, rowCount: 2, createdAt: platform.now(),
    }]);
  });

  test('a failed build leaves no temporary file, and the manifest is written atomically', async () => {
    const { platform, project, spine, out, dir } = await setup();
    // The output path is a non-empty directory: the final rename fails after the data was written.
    mkdirSync(join(out('taken.csv'), 'inside'), { recursive: true });
    await expect(buildDataset(platform, project, { spine, features: FEATURES, out: out('taken.csv') })).rejects.toThrow();
    await buildDataset(platform, project, { spine, features: FEATURES, out: out('ok.csv') });
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['ok.csv', 'ok.csv.manifest.json', 'taken.csv']);
  });
});

describe('a spine that is not a file of rows is named as such', () => {
  test('a 0-byte spine, a directory, and a spine of only a header', async () => {
    const { platform, project, dir, out } = await setup();
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    await expect(buildDataset(platform, project, { spine: empty, features: FEATURES, out: out('e.csv') })).rejects.toThrow(`spine file ${empty} is empty (0 bytes): a spine needs a header naming the join key(s) and the timestamp column, then one row per training example`);
    const folder = join(dir, 'spines.csv');
    mkdirSync(folder);
    await expect(buildDataset(platform, project, { spine: folder, features: FEATURES, out: out('f.csv') })).rejects.toThrow(`spine file ${folder} is a directory; give a .csv, .jsonl or .parquet file`);
    const header = join(dir, 'header.csv');
    writeFileSync(header, 'customer_id,ts\n');
    expect(await buildDataset(platform, project, { spine: header, features: FEATURES, out: out('h.csv') })).toMatchObject({ rowCount: 0 });
  });

  test('an output that is the spine itself is refused before anything is written (it would replace the labels)', async () => {
    const { platform, project, dir, spine } = await setup();
    const before = readFileSync(spine, 'utf8');
    const same = join(dir, '.', 'spine.csv');
    await expect(buildDataset(platform, project, { spine, features: FEATURES, out: same })).rejects.toThrow(`output ${same} is the spine file; write the dataset to another path`);
    expect(readFileSync(spine, 'utf8')).toBe(before);
    // Another name of the same file (a hard link) is the spine too.
    const linked = join(dir, 'linked.csv');
    linkSync(spine, linked);
    await expect(buildDataset(platform, project, { spine, features: FEATURES, out: linked })).rejects.toThrow(`output ${linked} is the spine file; write the dataset to another path`);
    expect(readFileSync(spine, 'utf8')).toBe(before);
  });
});

