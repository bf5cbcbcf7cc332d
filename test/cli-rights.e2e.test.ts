import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { sluiceAsKey } from './support/cli-as-key.js';

// The CLI acting as a key's principal (SLUICE_API_KEY) needs the rights the other doors ask of that
// key: `admin: ["status"]` for status (as GET /v1/streams and /metrics), `run` on the job for an
// ingest, materialize or transform run (as `sluice run JOB` and the scheduler). Before, a key with
// only a read right could do all of these from the CLI.

let dir: string;
let reader: string;
let operator: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-cli-rights-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  writeFileSync(join(dir, 'sluice.config.ts'), readFileSync(join(dir, 'sluice.config.ts'), 'utf8')
    .replace("from 'sluice';", "from 'sluice';\nimport { allow } from 'sluice';")
    // A path gives customers the job ingest:customers, which a rule can grant.
    .replace("name: 'customers',", "name: 'customers', path: 'data/customers.csv',")
    .replace("featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],", "featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],\n  access: [allow({ role: 'reader', read: ['fraud_v1'] }), allow({ role: 'ops', admin: ['status'], run: ['ingest:customers', 'materialize:profile'] })],"));
  expect(sluice(dir, 'apply').code).toBe(0);
  const key = (principal: string, role: string) => sluice(dir, '--json', 'keys', 'create', '--principal', principal, '--role', role).json<{ key: string }>().key;
  reader = key('scorer', 'reader');
  operator = key('ops', 'ops');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('sluice status, ingest and materialize with a key ask the same rights as HTTP: refused without them, allowed with them', () => {
  const refused = (args: string[], what: RegExp) => {
    const r = sluiceAsKey(dir, reader, ...args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).not.toBe(0);
    expect(r.stderr).toMatch(what);
  };
  refused(['status'], /key:scorer may not run admin action "status"/);
  refused(['ingest', 'customers', 'data/customers.csv'], /key:scorer may not run job "ingest:customers"/);
  refused(['materialize', '--views', 'profile'], /key:scorer may not run job "materialize:profile"/);
  refused(['materialize'], /key:scorer may not run job "materialize:/);

  const ingest = sluiceAsKey(dir, operator, 'ingest', 'customers', 'data/customers.csv');
  expect(ingest.code, ingest.stderr).toBe(0);
  const materialized = sluiceAsKey(dir, operator, 'materialize', '--views', 'profile');
  expect(materialized.code, materialized.stderr).toBe(0);
  expect(sluiceAsKey(dir, operator, 'status').stderr).not.toMatch(/may not/);
  expect(sluiceAsKey(dir, operator, 'materialize', '--views', 'txn_stats').stderr).toMatch(/key:ops may not run job "materialize:txn_stats"/);
  // The local operator (no key) keeps every right.
  expect(sluice(dir, 'status').stderr).not.toMatch(/may not/);
});

test('sluice ingest of a file into a stream source asks the right HTTP asks to write its events, push on the source', () => {
  const refused = sluiceAsKey(dir, reader, 'ingest', 'transactions', 'data/transactions.csv');
  expect(refused.code, refused.stdout).not.toBe(0);
  expect(refused.stderr).toMatch(/key:scorer may not push to source "transactions"/);
});

test('sluice ingest into a batch source with no job (no path or connector) asks the same right, run on "ingest:<source>", which a rule may grant', () => {
  const bare = mkdtempSync(join(tmpdir(), 'sluice-cli-rights-nojob-'));
  try {
    cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), bare, { recursive: true });
    writeFileSync(join(bare, 'sluice.config.ts'), readFileSync(join(bare, 'sluice.config.ts'), 'utf8')
      .replace("from 'sluice';", "from 'sluice';\nimport { allow } from 'sluice';")
      .replace("featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],", "featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],\n  access: [allow({ role: 'reader', read: ['fraud_v1'] }), allow({ role: 'ops', run: [customers] })],"));
    const applied = sluice(bare, 'apply');
    expect(applied.code, applied.stderr).toBe(0);
    const key = (principal: string, role: string) => sluice(bare, '--json', 'keys', 'create', '--principal', principal, '--role', role).json<{ key: string }>().key;
    const refused = sluiceAsKey(bare, key('scorer', 'reader'), 'ingest', 'customers', 'data/customers.csv');
    expect(refused.code, refused.stdout).not.toBe(0);
    expect(refused.stderr).toMatch(/key:scorer may not run job "ingest:customers"/);
    const allowed = sluiceAsKey(bare, key('ops', 'ops'), 'ingest', 'customers', 'data/customers.csv');
    expect(allowed.code, allowed.stderr).toBe(0);
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
});

test('with a key, ingest into a stream source asks push on it (as POST /v1/push), gc an admin right, and runs, alerts and checks the status right', () => {
  const refused = (args: string[], what: RegExp) => {
    const r = sluiceAsKey(dir, reader, ...args);
    expect(r.code, `${args.join(' ')}: ${r.stdout}`).not.toBe(0);
    expect(r.stderr).toMatch(what);
  };
  refused(['ingest', 'transactions', 'data/transactions.csv'], /key:scorer may not push to source "transactions"/);
  refused(['gc', '--dry-run'], /key:scorer may not run admin action "gc"/);
  for (const command of [['runs'], ['alerts'], ['checks']]) refused(command, /key:scorer may not run admin action "status"/);
  // A name the registry lacks is refused as such before any right is asked (nothing is written).
  refused(['ingest', 'nosuch', 'data/transactions.csv'], /source "nosuch" is not in the registry/);
  expect(sluiceAsKey(dir, operator, 'runs').stderr).not.toMatch(/may not/);
});

test('with a key, the commands that read the registry or operational data (plan, list, datasets, lineage, catalog, dlq, drift, skew) ask the status right, as GET /v1/registry does', () => {
  for (const args of [['plan'], ['list', 'views'], ['datasets'], ['lineage', 'source:transactions'], ['catalog'], ['dlq'], ['drift', '--service', 'fraud_v1'], ['skew', '--service', 'fraud_v1']]) {
    const r = sluiceAsKey(dir, reader, ...args);
    expect(r.code, `${args.join(' ')}: ${r.stdout}`).not.toBe(0);
    expect(r.stderr, args.join(' ')).toMatch(/key:scorer may not run admin action "status"/);
  }
  expect(sluiceAsKey(dir, operator, 'dlq').stderr).not.toMatch(/may not/);
  expect(sluiceAsKey(dir, operator, 'list', 'views').code).toBe(0);
});

test('with a key, a misspelt source or view is named as not in the registry (with the closest name), not refused with advice to grant a right on a name that does not exist', () => {
  const ingest = sluiceAsKey(dir, reader, 'ingest', 'transactons', 'data/transactions.csv');
  expect(ingest.code).not.toBe(0);
  expect(ingest.stderr).toContain('source "transactons" is not in the registry (did you mean "transactions"?)');
  expect(ingest.stderr).not.toMatch(/may not|allow\(/);
  const materialize = sluiceAsKey(dir, reader, 'materialize', '--views', 'txn_stat');
  expect(materialize.stderr).toContain('feature view "txn_stat" is not in the registry (did you mean "txn_stats"?)');
  expect(materialize.stderr).not.toMatch(/may not|allow\(/);
});

test('with a key, quarantine release and drop ask admin: ["quarantine"], and the batch is resolved by the key\'s principal (a different --by is refused)', () => {
  const q = mkdtempSync(join(tmpdir(), 'sluice-cli-rights-q-'));
  try {
    expect(sluice(q, 'init', 'proj').code).toBe(0);
    const proj = join(q, 'proj');
    writeFileSync(join(proj, 'sluice.config.ts'), `import { defineProject, entity, batchSource, featureView, count, notNull, allow } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', checks: [notNull('amount', { severity: 'error' })] });
export default defineProject({ name: 'q', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } })],
  access: [allow({ role: 'reader', read: ['stats'] }), allow({ role: 'steward', admin: ['quarantine'] })] });
`);
    writeFileSync(join(proj, 'bad.csv'), 'txn_id,customer_id,amount,ts\nt3,c1,,2024-01-03T00:00:00Z\nt4,c2,7,2024-01-03T00:00:00Z\n');
    writeFileSync(join(proj, 'bad2.csv'), 'txn_id,customer_id,amount,ts\nt5,c1,,2024-01-04T00:00:00Z\n');
    expect(sluice(proj, 'apply').code).toBe(0);
    expect(sluice(proj, 'ingest', 'txns', 'bad.csv').code).not.toBe(0);
    expect(sluice(proj, 'ingest', 'txns', 'bad2.csv').code).not.toBe(0);
    const key = (principal: string, role: string) => sluice(proj, '--json', 'keys', 'create', '--principal', principal, '--role', role).json<{ key: string }>().key;
    const reader = key('scorer', 'reader');
    const steward = key('ana', 'steward');
    for (const verb of ['release', 'drop']) {
      const r = sluiceAsKey(proj, reader, 'quarantine', verb, '1', '--by', 'ana');
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(/key:scorer may not run admin action "quarantine"/);
    }
    const impersonated = sluiceAsKey(proj, steward, 'quarantine', 'release', '1', '--by', 'bo');
    expect(impersonated.code, impersonated.stdout).not.toBe(0);
    expect(impersonated.stderr).toMatch(/--by bo.*key:ana/);
    const released = sluiceAsKey(proj, steward, 'quarantine', 'release', '1');
    expect(released.stdout, released.stderr).toMatch(/released quarantined batch 1: 2 rows .*\(by key:ana\)/);
    const dropped = sluiceAsKey(proj, steward, 'quarantine', 'drop', '2', '--by', 'key:ana');
    expect(dropped.stdout, dropped.stderr).toMatch(/dropped quarantined batch 2 .*by key:ana/);
  } finally {
    rmSync(q, { recursive: true, force: true });
  }
});
