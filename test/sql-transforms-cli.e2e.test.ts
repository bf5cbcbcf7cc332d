import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

const config = (billedSql = 'sum(i.amount)', extra = '') => `import { defineProject, entity, batchSource, sqlTransform, featureView, field } from 'sluice';

const account = entity({ name: 'account', joinKey: 'account_id' });
const crm = batchSource({ name: 'crm_accounts', schema: { account_id: 'string', tier: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const invoices = batchSource({ name: 'billing_invoices', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const customer360 = sqlTransform({
  name: 'customer_360', inputs: [crm, invoices],
  sql: \`SELECT a.account_id, a.tier, ${billedSql} AS billed, max(i.ts) AS ts FROM crm_accounts a JOIN billing_invoices i USING (account_id) GROUP BY ALL${extra}\`,
  timestamp: 'ts', schema: { account_id: 'string', tier: 'string', billed: 'float64', ts: 'timestamp' },
});
const gold = sqlTransform({
  name: 'gold', inputs: [customer360],
  sql: "SELECT account_id, billed, ts FROM customer_360 WHERE tier = 'gold'",
  timestamp: 'ts', schema: { account_id: 'string', billed: 'float64', ts: 'timestamp' },
});
const billing = featureView({ name: 'billing', entity: account, source: customer360, features: { billed: field('billed') } });
export default defineProject({ name: 'x', entities: [account], sources: [crm, invoices], featureViews: [billing], transforms: [gold, customer360] });
`;

let root: string;
let dir: string;
const write = (text: string) => writeFileSync(join(dir, 'sluice.config.ts'), text);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-transforms-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'crm.csv'), 'account_id,tier,ts\na1,gold,2024-01-01T00:00:00Z\na2,silver,2024-01-01T00:00:00Z\n');
  writeFileSync(join(dir, 'invoices.csv'), 'account_id,amount,ts\na1,10,2024-01-02T00:00:00Z\na1,5,2024-01-03T00:00:00Z\na2,7,2024-01-02T00:00:00Z\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sluice transform, end to end', () => {
  test('plan checks each transform\'s SQL and schema before apply: a wrong type and a file read are refused naming the column or capability', () => {
    write(config('count(*)'));
    const wrongType = sluice(dir, 'plan');
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toContain('transform "customer_360": its query does not give the declared schema: column "billed" is BIGINT in the query\'s result but declared float64');
    expect(sluice(dir, 'apply').code).toBe(1);
    write(config('sum(i.amount)', " UNION ALL SELECT column0, column1, 0, column2::TIMESTAMP FROM read_csv('/etc/passwd')"));
    const sandbox = sluice(dir, 'plan');
    expect(sandbox.code).toBe(1);
    expect(sandbox.stderr).toContain('transform "customer_360": the table function read_csv() (table functions read files and the catalog) is not allowed');
    write(config());
    const plan = sluice(dir, 'plan', '--json');
    expect(plan.code).toBe(0);
    expect(plan.json<{ changes: unknown[] }>().changes).toEqual(expect.arrayContaining([{ action: 'add', kind: 'transform', name: 'customer_360' }, { action: 'add', kind: 'source', name: 'customer_360' }]));
    expect(sluice(dir, 'apply').code).toBe(0);
  });

  test('transform run --all runs inputs first; a second run is up to date; ingest refuses a transform\'s table', () => {
    expect(sluice(dir, 'ingest', 'crm_accounts', '--file', 'crm.csv').code).toBe(0);
    expect(sluice(dir, 'ingest', 'billing_invoices', '--file', 'invoices.csv').code).toBe(0);
    const all = sluice(dir, 'transform', 'run', '--all', '--json');
    expect(all.stderr).toBe('');
    const runs = all.json<{ runs: Array<{ transform: string; rows: number; mode: string; skipped: boolean }> }>().runs;
    expect(runs.map((r) => [r.transform, r.rows, r.mode, r.skipped])).toEqual([['customer_360', 2, 'full', false], ['gold', 1, 'full', false]]);
    const listed = sluice(dir, 'list', 'transforms', '--json').json<Array<{ name: string; snapshot: string; readSnapshots: Record<string, string> }>>();
    const crm = sluice(dir, 'list', 'snapshots', '--source', 'crm_accounts', '--json').json<Array<{ id: string }>>()[0]!.id;
    expect(listed.map((t) => [t.name, t.readSnapshots.crm_accounts ?? t.readSnapshots.customer_360])).toEqual([['gold', listed[1]!.snapshot], ['customer_360', crm]]);
    expect(sluice(dir, 'list', 'snapshots', '--source', 'customer_360', '--json').json()).toEqual([expect.objectContaining({ id: listed[1]!.snapshot, lineage: expect.objectContaining({ mode: 'full', inputs: listed[1]!.readSnapshots }) })]);
    const again = sluice(dir, 'transform', 'run', 'customer_360');
    expect(again.stdout).toContain('transform "customer_360" is up to date');
    expect(sluice(dir, 'materialize').code).toBe(0);
    expect(sluice(dir, 'get', '--entity', 'account_id=a1,a2', '--features', 'billing:billed', '--json').json<{ rows: unknown[] }>().rows).toEqual([
      { account_id: 'a1', billing__billed: 15 },
      { account_id: 'a2', billing__billed: 7 },
    ]);
    const ingest = sluice(dir, 'ingest', 'customer_360', '--file', 'crm.csv');
    expect(ingest.code).toBe(1);
    expect(ingest.stderr).toContain('"customer_360" is a transform: its table is written only by "sluice transform run customer_360"');
    const unknown = sluice(dir, 'transform', 'run', 'customer360');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('transform "customer360" is not in the registry (did you mean "customer_360"?)');
    expect(sluice(dir, 'transform', 'run').code).toBe(2);
  });

  test('--all with a transform failing at run time: the error names it, the runs done are reported, its dependents are named as not run', () => {
    // Binds (a DOUBLE), fails over the data: 'gold' is not a number.
    write(config('CAST(a.tier AS DOUBLE)'));
    expect(sluice(dir, 'apply').code).toBe(0);
    const failed = sluice(dir, 'transform', 'run', '--all');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('transform "customer_360": its SQL failed over its inputs (nothing was committed): Conversion Error: Could not convert string');
    expect(failed.stderr).toContain('not run, after transform "customer_360" failed: gold');
    const audited = sluice(dir, '--json', 'audit', 'list', '--action', 'transform.run', '--limit', '2').json<{ records: Array<{ target: string; outcome: string; details: Record<string, unknown> }> }>().records;
    expect(audited.map((r) => [r.target, r.outcome, r.details])).toEqual([['transforms:all', 'failed', { error: 'USER_CODE_FAILED' }], ['transforms:none', 'failed', { error: 'UsageError' }]]);
    write(config());
    expect(sluice(dir, 'apply').code).toBe(0);
  });

  test('plan and apply bind a view\'s row transforms in DuckDB: an expression DuckDB cannot compile is refused before it is applied', () => {
    write(config().replace("features: { billed: field('billed') }", "filter: \"regexp_matches(tier, '(')\", features: { billed: field('billed') }"));
    for (const command of ['plan', 'apply']) {
      const r = sluice(dir, command);
      expect(r.code).toBe(1);
      // Refused as sluice.config.ts loads, at the call, with DuckDB's reason.
      expect(r.stderr).toMatch(/feature view "billing": filter "regexp_matches\(tier, '\('\)": at character 1: DuckDB refuses this call: .*missing \)/);
    }
    write(config());
  });
});
