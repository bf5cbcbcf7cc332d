import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice, sluiceOk } from './support/cli.js';
import { sluiceKilledAt } from './support/killed-cli.js';

// `sluice compact [source] --json`, and a compaction killed between writing its files and committing.
const config = `import { defineProject, entity, batchSource, featureView, count } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
export default defineProject({ name: 'cmp', entities: [customer], sources: [txns], featureViews: [stats] });
`;

let root: string;
let dir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-compact-'));
  dir = join(root, 'proj');
  sluiceOk(root, 'init', 'proj');
  writeFileSync(join(dir, 'sluice.config.ts'), config);
  sluiceOk(dir, 'apply');
  for (let i = 0; i < 4; i++) {
    writeFileSync(join(dir, `t${i}.csv`), `customer_id,ts\nc${i},2026-01-0${i + 1}T00:00:00Z\nc1,2026-01-0${i + 1}T01:00:00Z\n`);
    sluiceOk(dir, 'ingest', 'txns', '--file', `t${i}.csv`);
  }
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const lakeFiles = () => readdirSync(join(dir, '.sluice', 'lake', 'txns')).filter((f) => f.endsWith('.parquet')).sort();

test('a compaction killed after writing its files leaves the latest snapshot as it was; gc removes its files; sluice compact --json then compacts; list snapshots says so', async () => {
  const before = sluiceOk(dir, 'list', 'snapshots', '--json').json<Array<{ id: string; files: number }>>();
  const files = lakeFiles();
  await sluiceKilledAt(dir, 'compact.published', 'compact', 'txns', '--json');
  expect(sluice(dir, 'list', 'snapshots', '--json').json<Array<{ id: string }>>()[0]!.id).toBe(before[0]!.id);
  expect(lakeFiles()).toHaveLength(files.length + 1);
  sluiceOk(dir, 'gc', '--min-age', '0');
  expect(lakeFiles()).toEqual(files);

  const compacted = sluiceOk(dir, 'compact', '--json').json<{ sources: Array<Record<string, unknown>> }>();
  expect(compacted.sources).toEqual([expect.objectContaining({ source: 'txns', filesBefore: 4, filesAfter: 1, replaced: 4, written: 1, rows: 8 })]);
  const [latest] = sluiceOk(dir, 'list', 'snapshots', '--json').json<Array<Record<string, unknown>>>();
  expect(latest).toMatchObject({ id: compacted.sources[0]!.snapshot, operation: 'compaction', rows: 8, addedRows: 0, files: 1 });
  expect(sluiceOk(dir, 'compact', 'txns').stdout).toContain('Nothing to compact');
  expect(sluice(dir, 'compact', 'nope').code).not.toBe(0);
}, 180_000);
