import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openPlatform } from '../src/platform.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import type { SkewReport } from '../src/observability/skew/index.js';
import { sluice } from './support/cli.js';
import { copyOnlineState } from './support/corrupt-online.js';
import { appendServedRows, servedRowsOf } from './support/serving-log.js';

const CONFIG = `import { defineProject, entity, batchSource, featureView, featureService, count, sum, last } from 'sluice';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count(), total: sum('amount'), last_amount: last('amount') } });
export default defineProject({ name: 'shop', entities: [customer], sources: [txns], featureViews: [stats], featureServices: [featureService({ name: 'fraud', features: [stats] })] });
`;

let root: string;
let dir: string;

/** Serves every customer once, in-process, and logs the rows as the serving log's writer does. */
async function serveAndLog(): Promise<void> {
  const platform = openPlatform({ projectDir: dir });
  try {
    const project = await platform.project();
    const response = await getOnlineFeatures(project, await platform.online(), { service: 'fraud', entities: { customer_id: ['c1', 'c2', 'c3', 'nobody'] } }, Date.now(), await latestSnapshots(platform.metadata, project));
    appendServedRows(platform.dataDir, servedRowsOf(response, 'fraud', ['customer_id'], Date.now()));
  } finally {
    await platform.close();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-skew-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), CONFIG);
  writeFileSync(join(dir, 'txns.csv'), 'customer_id,amount,ts\nc1,0.1,2024-01-01T00:00:00Z\nc1,0.2,2024-01-02T00:00:00Z\nc2,1e16,2024-01-01T00:00:00Z\nc2,1,2024-01-01T01:00:00Z\nc3,2.5,2024-01-03T00:00:00Z\n');
  for (const args of [['apply'], ['ingest', 'txns', '--file', 'txns.csv'], ['materialize']]) {
    const r = sluice(dir, ...args);
    expect(r.code, r.stderr).toBe(0);
  }
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('sluice skew: no log yet says so; a healthy log gives 0 mismatches (exit 0); a corrupted value gives exit 3 naming the entity', async () => {
  const empty = sluice(dir, 'skew');
  expect(empty.code, empty.stderr).toBe(0);
  expect(empty.stdout).toContain('no served rows in the range');

  await serveAndLog();
  const healthy = sluice(dir, '--json', 'skew', '--service', 'fraud', '--since', '1h');
  expect(healthy.code, healthy.stderr).toBe(0);
  const report = healthy.json<SkewReport>();
  expect(report.servedRows).toBe(4);
  expect(report.features.map((f) => [f.feature, f.compared, f.mismatches])).toEqual([['stats__last_amount', 4, 0], ['stats__n', 4, 0], ['stats__total', 4, 0]]);
  expect(sluice(dir, 'list', 'runs', '--json').json<{ job: string; status: string }[]>()[0]).toMatchObject({ job: 'skew', status: 'succeeded' });

  // A wrong value in the online table: c2 holds c3's state.
  await copyOnlineState(dir, 'stats', 'c3', 'c2');
  const since = new Date().toISOString();
  await serveAndLog();
  const skewed = sluice(dir, 'skew', '--since', since);
  expect(skewed.code, skewed.stderr).toBe(3);
  expect(skewed.stdout).toMatch(/stats__total: entity c2 at \S+: online 2\.5, offline 10000000000000000/);
  expect(skewed.stdout).toContain('skew above 0% in stats__last_amount, stats__n, stats__total');
  // Visible in sluice status, which gates a deploy on it (exit 3).
  const status = sluice(dir, '--json', 'status');
  expect(status.code).toBe(3);
  expect(status.json<{ conditions: { kind: string; subject: string }[] }>().conditions.filter((c) => c.kind === 'skew').map((c) => c.subject).sort()).toEqual(['feature:stats__last_amount', 'feature:stats__n', 'feature:stats__total']);
  // The same run tolerated by a threshold: one mismatch in 4 is 25%; the conditions clear.
  expect(sluice(dir, 'skew', '--since', since, '--max-mismatch-rate', '0.3').code).toBe(0);
  expect(sluice(dir, '--json', 'status').json<{ conditions: { kind: string }[] }>().conditions.filter((c) => c.kind === 'skew')).toEqual([]);
});

test('sluice skew: bad options are usage errors (exit 2)', () => {
  expect(sluice(dir, 'skew', '--max-mismatch-rate', '2').code).toBe(2);
  expect(sluice(dir, 'skew', '--since', 'yesterday-ish').code).toBe(2);
});
