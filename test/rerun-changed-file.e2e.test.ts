import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { sluiceKilledAt, snapshotRows } from './support/killed-cli.js';
import { initProject } from './support/init-project.js';

// Known limit until 12-01 (gov4 task 4): a backfill --rerun replaced the earlier rows of a file
// only when its bytes were the same (by content hash); a file corrected in place (same path, new
// bytes) was added beside its earlier rows, doubling the date. The same file is now its path
// within the project: a re-run replaces the rows of every earlier ingest of that path (or of
// those bytes), atomically.

const config = `import { defineProject, entity, batchSource, featureView, count } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = batchSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/payments/*.csv' });
export default defineProject({ name: 'rr', entities: [customer], sources: [payments], featureViews: [featureView({ name: 'stats', entity: customer, source: payments, features: { n: count() } })] });
`;

let root: string;
let dir: string;
const file = (name: string, rows: string) => writeFileSync(join(dir, 'data', 'payments', name), `customer_id,amount,ts\n${rows}`);
const latestAmounts = async () => (await snapshotRows(dir, 'payments', 'amount')).at(-1);

beforeAll(() => {
  ({ root, dir } = initProject('sluice-rerun-', config));
  mkdirSync(join(dir, 'data', 'payments'), { recursive: true });
  file('2026-01-01.csv', 'c1,10,2026-01-01T00:00:00Z\nc2,5,2026-01-01T01:00:00Z\n');
  file('2026-01-02.csv', 'c1,7,2026-01-02T00:00:00Z\n');
  expect(sluice(dir, 'apply').code).toBe(0);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('a re-run of a file corrected in place replaces its earlier rows (not beside them); killed before its commit, the earlier rows stay', async () => {
  const args = ['backfill', 'ingest:payments', '--from', '2026-01-01', '--to', '2026-01-03'];
  expect(sluice(dir, ...args).code).toBe(0);
  expect(await latestAmounts()).toEqual(['10.0', '5.0', '7.0']);
  // The upstream corrects the first date's file: same path, other bytes (an amount fixed, a row added).
  file('2026-01-01.csv', 'c1,11,2026-01-01T00:00:00Z\nc2,5,2026-01-01T01:00:00Z\nc3,2,2026-01-01T02:00:00Z\n');
  const rerun = ['backfill', 'ingest:payments', '--from', '2026-01-01', '--to', '2026-01-02', '--rerun'];
  await sluiceKilledAt(dir, 'ingest.committing', ...rerun);
  expect(await latestAmounts()).toEqual(['10.0', '5.0', '7.0']);
  const done = sluice(dir, ...rerun, '--json');
  expect(done.code, done.stderr).toBe(0);
  expect(await latestAmounts()).toEqual(['11.0', '2.0', '5.0', '7.0']);
  // Run again with the same bytes: replaced once more, never doubled.
  expect(sluice(dir, ...rerun).code).toBe(0);
  expect(await latestAmounts()).toEqual(['11.0', '2.0', '5.0', '7.0']);
});
