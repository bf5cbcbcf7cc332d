import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const schema = { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' } as const;
const txns = batchSource({ name: 'transactions', schema, timestamp: 'ts', eventId: 'txn_id' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count(), total: sum('amount') } });
const spec = defineProject({ name: 'dedup', entities: [customer], sources: [txns], featureViews: [stats] });

let env: Awaited<ReturnType<typeof tempPlatform>> | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

const row = (id: number, customerId: string) => `t${id},${customerId},${id},2024-01-01T00:00:0${id % 10}Z`;

describe('eventId', () => {
  test('is validated: a column of the schema, string or int64', () => {
    const project = (eventId: string, type: 'string' | 'float64' = 'string') =>
      defineProject({ name: 'p', entities: [customer], sources: [batchSource({ name: 's', schema: { ...schema, txn_id: type }, timestamp: 'ts', eventId })], featureViews: [] });
    expect(() => project('txn_ix')).toThrow('source "s": eventId column "txn_ix" is not in its schema (did you mean "txn_id"?)');
    expect(() => project('txn_id', 'float64')).toThrow('source "s": eventId column "txn_id" has type "float64"; it must be string or int64');
    expect(compileProject(project('txn_id')).sources[0]!.eventId).toBe('txn_id');
    const without = compileProject(defineProject({ name: 'p', entities: [customer], sources: [batchSource({ name: 's', schema, timestamp: 'ts' })], featureViews: [] }));
    expect(without.sources[0]!.hash).not.toBe(compileProject(project('txn_id')).sources[0]!.hash);
  });

  test('overlapping exports and --force count each event once: in the lake, the dataset and online', async () => {
    env = await tempPlatform(spec, T0 + 60_000);
    const { platform, project, dir } = env;
    const first = join(dir, 'export-1.csv');
    const second = join(dir, 'export-2.csv');
    writeFileSync(first, ['txn_id,customer_id,amount,ts', row(1, 'c1'), row(2, 'c1'), row(3, 'c2'), row(2, 'c1')].join('\n'));
    writeFileSync(second, ['txn_id,customer_id,amount,ts', row(2, 'c1'), row(3, 'c2'), row(4, 'c2'), row(5, 'c1')].join('\n'));
    expect(await ingestFile(platform, project, 'transactions', first)).toMatchObject({ accepted: 3, rejected: 0, duplicates: 1 });
    expect(await ingestFile(platform, project, 'transactions', second)).toMatchObject({ accepted: 2, rejected: 0, duplicates: 2 });
    expect(await ingestFile(platform, project, 'transactions', second, { force: true })).toMatchObject({ accepted: 0, duplicates: 4 });
    expect((await platform.metadata.latestSnapshot('transactions'))!.rowCount).toBe(5);
    expect(await platform.metadata.countDeadLetters('transactions')).toBe(0);

    const spine = join(dir, 'spine.csv');
    writeFileSync(spine, 'customer_id,ts\nc1,2024-01-01T00:01:00Z\nc2,2024-01-01T00:01:00Z\n');
    const out = join(dir, 'train.jsonl');
    await buildDataset(platform, project, { spine, out, features: ['stats:n', 'stats:total'] });
    const offline = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(offline.map((r) => [r.stats__n, r.stats__total])).toEqual([[3, 8], [2, 7]]);
    await materialize(platform, project);
    const online = await getOnlineFeatures(project, await platform.online(), { features: ['stats:n', 'stats:total'], entities: { customer_id: ['c1', 'c2'] } }, T0 + 60_000, new Map());
    expect(online.rows.map((r) => [r.stats__n, r.stats__total])).toEqual([[3, 8], [2, 7]]);
  });

  test('int64 event ids compare as numbers; a missing event id is rejected', async () => {
    const numbered = batchSource({ name: 'transactions', schema: { ...schema, txn_id: 'int64' }, timestamp: 'ts', eventId: 'txn_id' });
    const view = featureView({ name: 'stats', entity: customer, source: numbered, features: { n: count() } });
    env = await tempPlatform(defineProject({ name: 'dedup', entities: [customer], sources: [numbered], featureViews: [view] }), T0);
    const { platform, project, dir } = env;
    const file = join(dir, 'n.jsonl');
    writeFileSync(file, [
      '{"txn_id": 9007199254740993, "customer_id": "c1", "amount": 1, "ts": "2024-01-01T00:00:00Z"}',
      '{"txn_id": "9007199254740993", "customer_id": "c1", "amount": 1, "ts": "2024-01-01T00:00:00Z"}',
      '{"txn_id": 9007199254740992, "customer_id": "c1", "amount": 1, "ts": "2024-01-01T00:00:00Z"}',
      '{"txn_id": null, "customer_id": "c1", "amount": 1, "ts": "2024-01-01T00:00:00Z"}',
    ].join('\n'));
    expect(await ingestFile(platform, project, 'transactions', file)).toMatchObject({ accepted: 2, rejected: 1, duplicates: 1 });
    const [dead] = await platform.metadata.listDeadLetters({});
    expect([dead!.line, dead!.reason]).toEqual([4, 'column "txn_id": the event id is missing']);
  });
});

describe('eventId under concurrent ingests', () => {
  test('two overlapping files ingested at once by two processes add each id once', async () => {
    env = await tempPlatform(spec, T0 + 60_000);
    const { platform, project, dir } = env;
    const { openPlatform } = await import('../src/platform.js');
    const other = openPlatform({ projectDir: dir, dataDir: join(dir, '.sluice'), threads: 1 });
    try {
      const a = join(dir, 'a.csv');
      const b = join(dir, 'b.csv');
      writeFileSync(a, ['txn_id,customer_id,amount,ts', ...Array.from({ length: 300 }, (_, i) => row(i, 'c1'))].join('\n'));
      writeFileSync(b, ['txn_id,customer_id,amount,ts', ...Array.from({ length: 300 }, (_, i) => row(i + 150, 'c1'))].join('\n'));
      const [ra, rb] = await Promise.all([ingestFile(platform, project, 'transactions', a), ingestFile(other, project, 'transactions', b)]);
      expect(ra.accepted + rb.accepted).toBe(450);
      expect((ra.duplicates ?? 0) + (rb.duplicates ?? 0)).toBe(150);
      const snapshot = await platform.metadata.latestSnapshot('transactions');
      const engine = await platform.engine();
      const files = snapshot!.files.map((f) => `'${platform.lake.resolve(f)}'`).join(', ');
      const [{ n, ids }] = (await engine.all<{ n: number; ids: number }>(`SELECT count(*)::INTEGER AS n, count(DISTINCT txn_id)::INTEGER AS ids FROM read_parquet([${files}])`)) as [{ n: number; ids: number }];
      expect({ n, ids }).toEqual({ n: 450, ids: 450 });
    } finally {
      await other.close();
    }
  });
});
