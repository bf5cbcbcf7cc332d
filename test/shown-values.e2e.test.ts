import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice, sluiceOk } from './support/cli.js';
import { auditTrailOf, sluiceAsKey } from './support/cli-as-key.js';

// Commands that show recorded values (skew examples, drift bins, dead-letter rows) ask the right of
// the door that serves those values, not only the status right: a key with `admin: ["status"]` and
// no read right on a feature got 403 from `sluice get` but the feature's served and recomputed
// values from `sluice skew` (review rev11, finding 1).

let dir: string;
let dpo: string;
let scorer: string;
let datasetId: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-shown-values-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  writeFileSync(join(dir, 'sluice.config.ts'), readFileSync(join(dir, 'sluice.config.ts'), 'utf8')
    .replace("from 'sluice';", "from 'sluice';\nimport { allow } from 'sluice';")
    .replace("featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],", "featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],\n  access: [allow({ role: 'dpo', admin: ['status'] }), allow({ role: 'scorer', admin: ['status'], read: ['fraud_v1'], push: ['transactions'] })],"));
  sluiceOk(dir, 'apply');
  sluiceOk(dir, 'ingest', 'customers', 'data/customers.csv');
  writeFileSync(join(dir, 'bad.csv'), 'customer_id,segment,updated_at\nc9,platinum,not-a-time\n');
  sluice(dir, 'ingest', 'customers', 'bad.csv');
  writeFileSync(join(dir, 'bad-txn.csv'), 'txn_id,customer_id,amount,merchant,ts\nt9,c9,lots,m9,2024-03-01T10:00:00Z\n');
  sluice(dir, 'ingest', 'transactions', 'bad-txn.csv');
  sluiceOk(dir, 'ingest', 'transactions', 'data/transactions.csv');
  sluiceOk(dir, 'materialize');
  datasetId = sluiceOk(dir, '--json', 'dataset', 'build', '--service', 'fraud_v1', '--spine', 'data/labels.csv', '--out', 'train.parquet').json<{ datasetId: string }>().datasetId;
  const key = (principal: string, role: string) => sluice(dir, '--json', 'keys', 'create', '--principal', principal, '--role', role).json<{ key: string }>().key;
  dpo = key('dpo', 'dpo');
  scorer = key('scorer', 'scorer');
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a key with only the status right is refused by sluice get, and so by skew, drift --dataset and dlq, which show values of what get guards', async () => {
  expect(sluiceAsKey(dir, dpo, 'status').stderr).not.toMatch(/may not/);
  const get = sluiceAsKey(dir, dpo, 'get', '--service', 'fraud_v1', '--entity', 'customer_id=c1');
  expect(get.code).not.toBe(0);
  expect(get.stderr).toMatch(/key:dpo may not read feature/);
  for (const args of [['skew', '--service', 'fraud_v1'], ['skew'], ['drift', '--dataset', datasetId]]) {
    const r = sluiceAsKey(dir, dpo, ...args);
    expect(r.code, `${args.join(' ')}: ${r.stdout}`).not.toBe(0);
    expect(r.stderr, args.join(' ')).toMatch(/it shows feature values: key:dpo may not read feature "(txn_stats|small_txns|profile):/);
    expect(r.stdout, args.join(' ')).toBe('');
  }
  const dlq = sluiceAsKey(dir, dpo, 'dlq');
  expect(dlq.code, dlq.stdout).not.toBe(0);
  expect(dlq.stderr).toMatch(/it shows rows of source "customers", which only who may write them may see: key:dpo may not run job "ingest:customers"/);
  expect(dlq.stdout).not.toContain('platinum');
  const audit = (await auditTrailOf(dir)).filter((r) => r.action === 'values.read' && r.actor === 'key:dpo');
  expect(audit.map((r) => [r.target, r.outcome])).toEqual([['cli:skew', 'denied'], ['cli:skew', 'denied'], ['cli:drift', 'denied'], ['cli:dlq', 'denied']]);
});

test('a key with the read right on the service and push on a source sees what those doors serve it, and no other source\'s rows', () => {
  const skew = sluiceAsKey(dir, scorer, 'skew', '--service', 'fraud_v1');
  expect(skew.code, skew.stderr).toBe(0);
  const drift = sluiceAsKey(dir, scorer, 'drift', '--dataset', datasetId);
  expect(drift.code, drift.stderr).toBe(0);
  expect(drift.stdout).toContain(`dataset ${datasetId} against 0 served row(s)`);
  const own = sluiceAsKey(dir, scorer, 'dlq', '--source', 'transactions');
  expect(own.code, own.stderr).toBe(0);
  expect(own.stdout).toContain('bad-txn.csv');
  const all = sluiceAsKey(dir, scorer, 'dlq');
  expect(all.code).not.toBe(0);
  expect(all.stderr).toMatch(/rows of source "customers".*key:scorer may not run job "ingest:customers"/);
  // The local operator keeps every right.
  expect(sluice(dir, 'dlq').stdout).toContain('platinum');
});
