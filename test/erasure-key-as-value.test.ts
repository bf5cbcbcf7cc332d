import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView, last, lastN, max, sqlTransform, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { createServer } from '../src/serving/http/server.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { keyValuedFeatures, valueCarriesKey } from '../src/compliance/classification/key-valued-features.js';
import type { Principal } from '../src/compliance/principal.js';
import { tempPlatform } from './support/temp-platform.js';
import { scan } from './support/byte-scan.js';

// Review rev11 finding 1: another entity's feature that carries the erased key as its value
// (a merchant's last customers) kept it in the serving log and in registered datasets.

const KEY = 'cust-ALPHA';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const merchant = entity({ name: 'merchant', joinKey: 'merchant_id' });
const tx = batchSource({ name: 'tx', schema: { txn_id: 'string', customer_id: 'string', merchant_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
// The key reaches `payer` through a SQL transform (computed from customer_id).
const payers = sqlTransform({ name: 'payers', inputs: [tx], sql: "SELECT txn_id, customer_id, merchant_id, coalesce(customer_id, 'none') AS payer, ts FROM tx", timestamp: 'ts', schema: { txn_id: 'string', customer_id: 'string', merchant_id: 'string', payer: 'string', ts: 'timestamp' } });
const m = featureView({ name: 'm', entity: merchant, source: tx, features: { recent: lastN('customer_id', 3), lastc: last('customer_id'), n: count(), spent: sum('amount'), top_txn: max('txn_id') } });
const mp = featureView({ name: 'mp', entity: merchant, source: payers, features: { payer: last('payer') } });
const c = featureView({ name: 'c', entity: customer, source: tx, features: { n: count() } });
const spec = defineProject({
  name: 'ln', entities: [customer, merchant], sources: [tx], transforms: [payers], featureViews: [m, mp, c],
  featureServices: [featureService({ name: 'ms', features: [m, mp], log: { sampleRate: 1 } })],
});
const dpo: Principal = { name: 'cli:dpo', roles: ['local-operator'], origin: 'local' };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A platform of the project at 2026-12-01, disposed after the test. */
async function platformAt() {
  const env = await tempPlatform(spec, Date.parse('2026-12-01T00:00:00Z'));
  cleanup.push(env.dispose);
  return env;
}

test('the features whose value may be a key come from column lineage: the key column itself or a column computed from it, by aggregations that serve values', async () => {
  const { project } = await platformAt();
  expect(keyValuedFeatures(project, 'customer').map((f) => f.column)).toEqual(['m__recent', 'm__lastc', 'mp__payer']);
  expect(keyValuedFeatures(project, 'merchant').map((f) => f.column)).toEqual([]);
  expect([valueCarriesKey(['cust-BETA', KEY], KEY), valueCarriesKey(KEY, KEY), valueCarriesKey('cust-ALPHAX', KEY), valueCarriesKey(42, '42'), valueCarriesKey(null, KEY)]).toEqual([true, true, false, true, false]);
});

test('erasure removes served and dataset rows of another entity whose feature carries the erased key as a value, and the certificate says so', async () => {
  const { platform, project, dir } = await platformAt();
  const inputs = {
    tx: `txn_id,customer_id,merchant_id,amount,ts\nt1,${KEY},m1,5,2026-11-30T00:00:00Z\nt2,cust-BETA,m1,7,2026-11-30T01:00:00Z\nt3,cust-BETA,m2,1,2026-11-30T02:00:00Z\n`,
    spine: 'merchant_id,ts\nm1,2026-12-01T00:00:00Z\nm2,2026-12-01T00:00:00Z\n',
  };
  for (const [name, text] of Object.entries(inputs)) writeFileSync(join(dir, `${name}.csv`), text);
  await ingestFile(platform, project, 'tx', join(dir, 'tx.csv'));
  await runTransform(platform, project, 'payers');
  await materialize(platform, project);
  const app = await createServer(platform, {});
  const served = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { merchant_id: ['m1', 'm2'] }, service: 'ms' } });
  expect(served.statusCode).toBe(200);
  await app.close();
  const datasets = join(platform.dataDir, 'datasets');
  mkdirSync(datasets, { recursive: true });
  for (const format of ['csv', 'jsonl', 'parquet']) await buildDataset(platform, project, { spine: join(dir, 'spine.csv'), service: 'ms', out: join(datasets, `ds.${format}`) });
  const before = await scan(platform.dataDir, KEY);
  expect(before.some((f) => f.startsWith('serving-log'))).toBe(true);
  expect(before.filter((f) => f.startsWith('datasets')).length).toBeGreaterThanOrEqual(3);

  const { certificate } = await eraseSubject(platform, project, { entity: 'customer', key: [KEY], reason: 'asked', principal: dpo });
  expect(certificate.keyValuedFeatures).toEqual(['m.recent', 'm.lastc', 'mp.payer']);
  const byValue = certificate.stores.filter((s) => (s.byValue ?? 0) > 0).map((s) => [s.store.startsWith('dataset:') ? 'dataset' : s.store, s.byValue]);
  expect(byValue).toEqual([['serving-log', 1], ['dataset', 1], ['dataset', 1], ['dataset', 1]]);
  // m2's rows never carried the key: they stay, in the log and in every dataset.
  const logDir = join(platform.dataDir, 'serving-log', 'ms');
  const logText = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8')).join('');
  expect(logText).toContain('"m2"');
  expect(logText).not.toContain('"m1"');
  expect(readFileSync(join(datasets, 'ds.csv'), 'utf8')).toBe('merchant_id,ts,m__recent,m__lastc,m__n,m__spent,m__top_txn,mp__payer\nm2,2026-12-01T00:00:00Z,[cust-BETA],cust-BETA,1,1.0,t3,cust-BETA\n');
  expect(readFileSync(join(datasets, 'ds.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  await platform.close();
  expect(await scan(platform.dataDir, KEY)).toEqual([]);
});
