import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-registry-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  expect(sluice(dir, 'apply').code).toBe(0);
  expect(sluice(dir, 'ingest', 'transactions', '--file', 'data/transactions.csv').code).toBe(0);
  expect(sluice(dir, 'ingest', 'customers', '--file', 'data/customers.csv').code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sluice list, datasets, dataset build --manifest, gc', () => {
  test('list shows the applied registry, snapshots and runs, as tables or JSON', () => {
    expect(sluice(dir, 'list', 'entities', '--json').json()).toEqual([{ name: 'customer', joinKey: 'customer_id', description: null }]);
    const sources = sluice(dir, 'list', 'sources', '--json').json<Array<{ name: string; rows: number; snapshot: string }>>();
    expect(sources.map((s) => [s.name, s.rows])).toEqual([['transactions', 5], ['customers', 4]]);
    const views = sluice(dir, 'list', 'views', '--json').json<Array<{ name: string; features: string[]; transforms: string[] }>>();
    expect(views.map((v) => [v.name, v.transforms])).toEqual([['txn_stats', []], ['small_txns', ['filter', 'cents']], ['profile', []]]);
    expect(sluice(dir, 'list', 'services', '--json').json<Array<{ name: string; features: string[] }>>()[0]!.features).toContain('profile:segment');
    const snapshots = sluice(dir, 'list', 'snapshots', '--source', 'transactions', '--json').json<Array<Record<string, unknown>>>();
    expect(snapshots).toEqual([expect.objectContaining({ id: sources[0]!.snapshot, source: 'transactions', version: 1, operation: 'ingest', rows: 5, files: 1 })]);
    const runs = sluice(dir, 'list', 'runs', '--json').json<Array<{ job: string; status: string; ms: number }>>();
    expect(runs.map((r) => [r.job, r.status])).toEqual([['ingest', 'succeeded'], ['ingest', 'succeeded']]);
    const text = sluice(dir, 'list', 'snapshots');
    expect(text.stdout.split('\n')[0]).toMatch(/^id\s+source\s+version\s+operation\s+rows\s+addedRows\s+files\s+createdAt$/);
    const bad = sluice(dir, 'list', 'bogus');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown kind "bogus"; use one of entities, sources, views, requests, services, datasets, snapshots, runs');
  });

  test('a dataset is registered and rebuilt from its manifest after new data: same id, same bytes', () => {
    const built = sluice(dir, 'dataset', 'build', '--spine', 'data/labels.csv', '--service', 'fraud_v1', '--out', 'out/train.csv', '--json').json<{ datasetId: string }>();
    writeFileSync(join(dir, 'more.csv'), 'txn_id,customer_id,amount,merchant,ts\nn1,c1,999,m9,2024-03-01T00:00:00Z\n');
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'more.csv').code).toBe(0);
    const rebuilt = sluice(dir, 'dataset', 'build', '--manifest', 'out/train.csv.manifest.json', '--out', 'out/again.csv', '--json');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.json<{ datasetId: string }>().datasetId).toBe(built.datasetId);
    expect(readFileSync(join(dir, 'out', 'again.csv'), 'utf8')).toBe(readFileSync(join(dir, 'out', 'train.csv'), 'utf8'));
    const listed = sluice(dir, 'datasets', '--json').json<Array<{ id: string; rowCount: number; spine: string; snapshots: Record<string, string>; features: string[] }>>();
    expect(listed.map((d) => d.id)).toEqual([built.datasetId, built.datasetId]);
    expect(listed[0]).toMatchObject({ rowCount: 5, spine: join(dir, 'data', 'labels.csv'), features: expect.arrayContaining(['profile__segment']) });
    expect(Object.keys(listed[0]!.snapshots).sort()).toEqual(['customers', 'transactions']);
    expect(sluice(dir, 'list', 'datasets').stdout).toContain(built.datasetId);
    expect(sluice(dir, 'dataset', 'build', '--manifest', 'out/train.csv.manifest.json', '--spine', 'x.csv').code).toBe(2);
  });

  test('gc reports what it would free and what it freed', () => {
    writeFileSync(join(dir, '.sluice', 'lake', 'transactions', 'orphan.parquet'), 'x'.repeat(2048));
    const dry = sluice(dir, 'gc', '--dry-run', '--json').json<{ dryRun: boolean; kinds: Array<{ kind: string; files: string[] }> }>();
    expect(dry.dryRun).toBe(true);
    expect(dry.kinds.map((k) => [k.kind, k.files])).toEqual([['purge-leftovers', []], ['lake-unreferenced', []], ['lake-staging', []], ['dataset-temp', []], ['serving-log-temp', []], ['online-generations', []]]);
    const text = sluice(dir, 'gc', '--min-age', '0');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^kind\s+files\s+bytes\npurge-leftovers\s+0\s+0 B\nlake-unreferenced\s+1\s+2.0 KiB/);
    expect(text.stdout).toContain('freed 2.0 KiB in 1 file(s)');
    expect(existsSync(join(dir, '.sluice', 'lake', 'transactions', 'orphan.parquet'))).toBe(false);
    expect(sluice(dir, 'gc', '--min-age', 'soon').code).toBe(2);
  });
});
