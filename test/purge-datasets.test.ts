import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { purgeDatasets } from '../src/compliance/purge/purge-datasets.js';
import type { DatasetRecord } from '../src/storage/metadata/metadata-store.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats] });
const NOW = Date.parse('2024-03-01T00:00:00Z');

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A JSONL dataset as a writer other than DuckDB's may lay it out: every kind of JSON value, spacing, escapes. */
const LINES = [
  '{"customer_id":"c1","ts":"2024-02-01T00:00:00.123Z","label":1,"stats__n":2,"score":2.0,"ratio":1.5e-3,"big":9007199254740993,"note":"a,\\"b\\"\\u00e9\\t","tags":["x",1,null],"nested":{"k":[1.0]},"gone":null}',
  '{"customer_id":"c42","ts":"2024-02-02T00:00:00Z","label":0,"stats__n":1,"score":2,"ratio":0.5,"big":1,"note":"","tags":[],"nested":{},"gone":null}',
  '{"customer_id" : "c2", "ts":"2024-01-15T00:00:00.000Z","label":0,"stats__n":null,"score":-0.0,"ratio":10,"big":-2,"note":"é","tags":[[]],"nested":null,"gone":true}',
  '{"customer_id":"c42","ts":"2024-01-20T12:00:00Z","label":1,"stats__n":3,"score":3.25,"ratio":1E2,"big":0,"note":"x","tags":null,"nested":{"a":"b"},"gone":false}',
];

async function withDataset(format: 'jsonl' | 'csv', text: string) {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  const path = join(t.dir, `train.${format}`);
  writeFileSync(path, text);
  const record: DatasetRecord = {
    id: 'ds1', path, format, spine: join(t.dir, 'spine.csv'), spineSha256: 'x', timestampColumn: 'ts', features: ['stats:n'],
    definitions: {}, snapshots: { txns: 's1' }, rowCount: text.trimEnd().split('\n').length - (format === 'csv' ? 1 : 0), createdAt: NOW,
  };
  await t.platform.metadata.recordDataset(record);
  return { ...t, path };
}

test('a purge rewrite of a JSONL dataset writes every line it keeps back byte for byte', async () => {
  const { platform, project, path } = await withDataset('jsonl', `${LINES.join('\n')}\n`);
  const [report] = await purgeDatasets(platform, project, new Set(['txns']), new Set(['txns']), { kind: 'keys', entity: 'customer', keys: ['c42'] }, 'rewrite', 'erasure', NOW, false);
  expect(report).toMatchObject({ store: 'dataset:ds1', rows: 2, filesRewritten: [path] });
  expect(readFileSync(path, 'utf8')).toBe(`${LINES[0]}\n${LINES[2]}\n`);
  expect((await platform.metadata.listDatasets(10))[0]).toMatchObject({ rowCount: 2, purges: [{ reason: 'erasure', rows: 2, action: 'rewritten' }] });
});

test('a cutoff purge of a JSONL dataset reads its spine times as written (with Z, with T) and keeps later lines byte for byte', async () => {
  const { platform, project, path } = await withDataset('jsonl', `${LINES.join('\n')}\n`);
  const [report] = await purgeDatasets(platform, project, new Set(['txns']), new Set(), { kind: 'before', before: Date.parse('2024-02-01T00:00:00.123Z') }, 'rewrite', 'retention', NOW, false);
  expect(report).toMatchObject({ rows: 2 });
  expect(readFileSync(path, 'utf8')).toBe(`${LINES[0]}\n${LINES[1]}\n`);
});

test('a purge rewrite of a CSV dataset keeps the other rows as written', async () => {
  const csv = 'customer_id,ts,label,stats__n\nc1,2024-02-01T00:00:00.123Z,1.0,2\nc42,2024-02-02T00:00:00Z,0,\nc2,2024-01-15 00:00:00,0,007\n';
  const { platform, project, path } = await withDataset('csv', csv);
  await purgeDatasets(platform, project, new Set(['txns']), new Set(['txns']), { kind: 'keys', entity: 'customer', keys: ['c42'] }, 'rewrite', 'erasure', NOW, false);
  expect(readFileSync(path, 'utf8')).toBe('customer_id,ts,label,stats__n\nc1,2024-02-01T00:00:00.123Z,1.0,2\nc2,2024-01-15 00:00:00,0,007\n');
});

test('a purge killed after the rewritten file was published, before its record: the next purge completes the record and manifest, not skipping on 0 rows', async () => {
  const { platform, project, path } = await withDataset('jsonl', `${LINES.join('\n')}\n`);
  writeFileSync(`${path}.manifest.json`, JSON.stringify({ rowCount: 4 }));
  const killed = { ...platform, metadata: { ...platform.metadata, recordDataset: () => Promise.reject(new Error('killed before the record')) } };
  const erase = (ctx: typeof platform) => purgeDatasets(ctx, project, new Set(['txns']), new Set(['txns']), { kind: 'keys', entity: 'customer', keys: ['c42'] }, 'rewrite', 'erasure', NOW, false);
  await expect(erase(killed)).rejects.toThrow('killed before the record');
  expect(readFileSync(path, 'utf8')).toBe(`${LINES[0]}\n${LINES[2]}\n`);
  expect((await platform.metadata.listDatasets(10))[0]).toMatchObject({ rowCount: 4 });
  const [report] = await erase(platform);
  expect(report).toMatchObject({ store: 'dataset:ds1', rows: 2, filesRewritten: [] });
  expect((await platform.metadata.listDatasets(10))[0]).toMatchObject({ rowCount: 2, purges: [{ reason: 'erasure', rows: 2, action: 'rewritten' }] });
  expect(JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8'))).toMatchObject({ rowCount: 2, purges: [{ rows: 2, action: 'rewritten' }] });
  // Complete now: a third run finds nothing to do.
  expect(await erase(platform)).toEqual([]);
});
