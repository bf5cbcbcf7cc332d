import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, last, sqlTransform } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { certificateText } from '../src/cli/commands/erasure-commands.js';
import { keyCarryingColumns } from '../src/compliance/classification/key-carrying-columns.js';
import type { Principal } from '../src/compliance/principal.js';
import { tempPlatform } from './support/temp-platform.js';
import { scan } from './support/byte-scan.js';

// Known limit until 12-01 (gov4 task 1): a SQL transform that keeps the entity key only under
// another name (`customer_id AS payer`) kept the erased subject's rows in its lake table, the
// online state of views over it and metadata.db; the purge matched only the entity's key columns.

const KEY = 'cust-ALPHA';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const merchant = entity({ name: 'merchant', joinKey: 'merchant_id' });
const tx = batchSource({ name: 'tx', schema: { txn_id: 'string', customer_id: 'string', merchant_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const payers = sqlTransform({ name: 'payers', inputs: [tx], sql: 'SELECT txn_id, merchant_id, customer_id AS payer, ts FROM tx', timestamp: 'ts', schema: { txn_id: 'string', merchant_id: 'string', payer: 'string', ts: 'timestamp' } });
// Through a second rename: the key reaches `who` from `payers.payer`.
const whos = sqlTransform({ name: 'whos', inputs: [payers], sql: 'SELECT merchant_id, payer AS who, ts FROM payers', timestamp: 'ts', schema: { merchant_id: 'string', who: 'string', ts: 'timestamp' } });
// An expression of the key: its values are not the key's text, so no match by value can be sure of them.
const shouts = sqlTransform({ name: 'shouts', inputs: [tx], sql: 'SELECT merchant_id, upper(customer_id) AS shout, ts FROM tx', timestamp: 'ts', schema: { merchant_id: 'string', shout: 'string', ts: 'timestamp' } });
const mp = featureView({ name: 'mp', entity: merchant, source: payers, features: { payer: last('payer'), n: count() } });
const mw = featureView({ name: 'mw', entity: merchant, source: whos, features: { who: last('who') } });
const c = featureView({ name: 'c', entity: customer, source: tx, features: { n: count() } });
const dpo: Principal = { name: 'cli:dpo', roles: ['local-operator'], origin: 'local' };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function platformWith(transforms: ReturnType<typeof sqlTransform>[]) {
  const views = [mp, mw, c].filter((v) => v.source.name === 'tx' || transforms.some((t) => t.name === v.source.name));
  const env = await tempPlatform(defineProject({ name: 'rk', entities: [customer, merchant], sources: [tx], transforms, featureViews: views }), Date.parse('2026-12-01T00:00:00Z'));
  cleanup.push(env.dispose);
  const { platform, project, dir } = env;
  writeFileSync(join(dir, 'tx.csv'), `txn_id,customer_id,merchant_id,ts\nt1,cust-BETA,m1,2026-11-30T00:00:00Z\nt2,${KEY},m1,2026-11-30T01:00:00Z\nt3,cust-BETA,m2,2026-11-30T02:00:00Z\n`);
  await ingestFile(platform, project, 'tx', join(dir, 'tx.csv'));
  for (const t of transforms) await runTransform(platform, project, t.name);
  await materialize(platform, project);
  return env;
}

test('the columns that carry an entity key come from column lineage: kept as they are (exact), or computed from it (by value, unsure)', async () => {
  const { project } = await platformWith([payers, whos, shouts]);
  const columns = keyCarryingColumns(project, 'customer');
  expect(Object.fromEntries([...columns].map(([table, c]) => [table, c]))).toEqual({
    tx: { exact: ['customer_id'], unsure: [] },
    payers: { exact: ['payer'], unsure: [] },
    whos: { exact: ['who'], unsure: [] },
    shouts: { exact: [], unsure: ['shout'] },
  });
  expect(keyCarryingColumns(project, 'merchant').get('payers')).toEqual({ exact: ['merchant_id'], unsure: [] });
});

test('erasure follows the key through renames: the transforms\' lake rows, the online values served from them and metadata.db lose it; the certificate lists the columns', async () => {
  const { platform, project } = await platformWith([payers, whos]);
  const online = await platform.online();
  expect(JSON.stringify(await online.read('mp', ['m1']))).toContain(KEY);
  expect((await scan(platform.dataDir, KEY)).length).toBeGreaterThan(0);

  const { certificate } = await eraseSubject(platform, project, { entity: 'customer', key: [KEY], reason: 'asked', principal: dpo });
  expect(certificate.keyColumns).toEqual(['tx.customer_id', 'payers.payer', 'whos.who']);
  expect(certificate.unsureKeyColumns).toEqual([]);
  const lake = Object.fromEntries(certificate.stores.filter((s) => s.store.startsWith('lake:')).map((s) => [s.store, s.rows]));
  expect(lake).toEqual({ 'lake:tx': 1, 'lake:payers': 1, 'lake:whos': 1 });
  // m1 is served again from the purged lake: its last payer is now cust-BETA, its count 1.
  expect(JSON.stringify(await online.read('mp', ['m1']))).not.toContain(KEY);
  await platform.close();
  expect(await scan(platform.dataDir, KEY)).toEqual([]);
});

test('a column computed from the key by an expression is named in the certificate as unsure, not passed over silently', async () => {
  const { platform, project } = await platformWith([payers, shouts]);
  const { certificate } = await eraseSubject(platform, project, { entity: 'customer', key: [KEY], reason: 'asked', principal: dpo });
  expect(certificate.unsureKeyColumns).toEqual(['shouts.shout']);
  expect(certificateText(certificate)).toContain('warning: column(s) computed from the key by an expression may hold it in another form that was not searched (rows where one held the key as it is were removed): shouts.shout;');
});
