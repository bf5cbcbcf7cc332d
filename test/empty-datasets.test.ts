import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { purgeDatasets } from '../src/compliance/purge/purge-datasets.js';
import { runRetention } from '../src/compliance/retention/run-retention.js';
import { datasetProfile } from '../src/observability/drift/dataset-drift.js';
import type { Principal } from '../src/compliance/principal.js';
import type { DatasetRecord } from '../src/storage/metadata/metadata-store.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', retention: '20d' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'empty_ds', entities: [customer], sources: [txns], featureViews: [stats] });
const NOW = Date.parse('2024-03-01T00:00:00Z');
const operator: Principal = { name: 'cli:dpo', roles: ['local-operator'], origin: 'local' };

async function platform() {
  const t = await tempPlatform(spec, NOW);
  onTestFinished(t.dispose);
  return t;
}

test.each(['jsonl', 'csv', 'parquet'] as const)('after an erasure empties a %s dataset, retention runs (flag and rewrite), erasure runs again, and its drift profile has 0 rows', async (format) => {
  const { platform: p, project, dir } = await platform();
  writeFileSync(join(dir, 'txns.csv'), 'customer_id,amount,ts\nc1,10,2024-02-20T00:00:00Z\nc1,5,2024-01-01T00:00:00Z\n');
  await ingestFile(p, project, 'txns', join(dir, 'txns.csv'));
  writeFileSync(join(dir, 'spine.csv'), 'customer_id,ts\nc1,2024-02-25T00:00:00Z\n');
  const out = join(dir, `ds.${format}`);
  await buildDataset(p, project, { spine: join(dir, 'spine.csv'), features: ['stats:n'], out });
  const { certificate } = await eraseSubject(p, project, { entity: 'customer', key: ['c1'], principal: operator });
  expect(certificate.stores.find((s) => s.store.startsWith('dataset:'))).toMatchObject({ rows: 1 });
  if (format === 'jsonl') expect(statSync(out).size).toBe(0);
  const [record] = await p.metadata.listDatasets(10);
  expect(record).toMatchObject({ rowCount: 0 });

  const report = await runRetention(p, project, { principal: operator });
  expect(report.sources.map((s) => s.source)).toEqual(['txns']);
  const retained = await runRetention(p, project, { principal: operator, datasets: 'rewrite' });
  expect(retained.sources.map((s) => s.source)).toEqual(['txns']);
  await eraseSubject(p, project, { entity: 'customer', key: ['c2'], principal: operator });
  expect((await p.metadata.listDatasets(10))[0]).toMatchObject({ rowCount: 0 });
  expect(await datasetProfile(p, project, record!)).toMatchObject({ rows: 0 });
});

async function withFile(format: string, text: string, rowCount: number) {
  const t = await platform();
  const path = join(t.dir, `train.${format}`);
  writeFileSync(path, text);
  const record: DatasetRecord = {
    id: 'ds1', path, format, spine: join(t.dir, 'spine.csv'), spineSha256: 'x', timestampColumn: 'ts', features: ['stats__n'],
    definitions: {}, snapshots: { txns: 's1' }, rowCount, createdAt: NOW - 1,
  };
  await t.platform.metadata.recordDataset(record);
  return { ...t, path, record };
}

test.each([['jsonl', ''], ['csv', ''], ['csv', 'customer_id,ts,stats__n\n']])('a %s dataset file with no rows (%j) purges by key and by cutoff without error; a record ahead of it is completed', async (format, text) => {
  const { platform: p, project, path } = await withFile(format, text, 1);
  const byKey = await purgeDatasets(p, project, new Set(['txns']), new Set(), { kind: 'keys', entity: 'customer', keys: ['c1'] }, 'rewrite', 'erasure', NOW, false);
  expect(byKey).toMatchObject([{ store: 'dataset:ds1', rows: 1, filesRewritten: [] }]);
  expect((await p.metadata.listDatasets(10))[0]).toMatchObject({ rowCount: 0 });
  const byCutoff = await purgeDatasets(p, project, new Set(['txns']), new Set(['txns']), { kind: 'before', before: NOW }, 'rewrite', 'retention', NOW, false);
  expect(byCutoff).toMatchObject([{ store: 'dataset:ds1', rows: 0, tainted: true }]);
  expect(readFileSync(path, 'utf8')).toBe(text);
});
