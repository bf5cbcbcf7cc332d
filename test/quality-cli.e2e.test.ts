import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

const config = (checks: string) => `import { defineProject, entity, batchSource, featureView, count, notNull, range, regex, unique, sqlCheck } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts',
  checks: [${checks}] });
export default defineProject({ name: 'q', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } })] });
`;

let root: string;
let dir: string;
const write = (checks: string) => writeFileSync(join(dir, 'sluice.config.ts'), config(checks));
const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.js');

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-quality-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'good.csv'), 'txn_id,customer_id,amount,ts\nt1,c1,10,2024-01-01T00:00:00Z\nt2,c2,5,2024-01-02T00:00:00Z\n');
  writeFileSync(join(dir, 'bad.csv'), 'txn_id,customer_id,amount,ts\nt3,c1,,2024-01-03T00:00:00Z\nt4,c2,7,2024-01-03T00:00:00Z\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sluice checks and sluice quarantine, end to end', () => {
  test('a bad column, a malformed predicate and an invalid regex are refused at plan with the fix', () => {
    write(`notNull('amout')`);
    expect(sluice(dir, 'plan').stderr).toContain('source "txns": check notNull(): column "amout" is not in source "txns" (did you mean "amount"?)');
    write(`sqlCheck('positive', 'amount >> 0')`);
    expect(sluice(dir, 'plan').stderr).toContain('source "txns": check "positive": sql "amount >> 0": at character');
    write(`regex('txn_id', '(')`);
    expect(sluice(dir, 'plan').stderr).toMatch(/source "txns": check "txn_id_regex": DuckDB refuses its predicate "txn_id matches \/\(\/"/);
  });

  test('a quarantined ingest fails (so a dependent materialize in the same chain does not run); release and drop through the CLI', () => {
    write(`notNull('amount', { severity: 'error' }), range('amount', { min: 0 }), unique('txn_id')`);
    expect(sluice(dir, 'apply').code).toBe(0);
    expect(sluice(dir, 'ingest', 'txns', '--file', 'good.csv').code).toBe(0);
    expect(sluice(dir, 'materialize').code).toBe(0);
    // The pipeline of a shell: materialize runs only after a successful ingest.
    const chain = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" ingest txns --file bad.csv && "${process.execPath}" "${BIN}" materialize`], { cwd: dir, encoding: 'utf8' });
    expect(chain.status).not.toBe(0);
    expect(chain.stderr).toContain('"txns": error check "amount_not_null" (amount is not null: 1 of 2 rows fail) failed; the batch (2 rows of bad.csv) is quarantined as 1');
    expect(chain.stdout).not.toContain('materialized');

    expect(sluice(dir, 'checks', '--failed').stdout).toMatch(/txns\s+amount_not_null\s+error\s+FAIL\s+1\s+2 .*\(quarantined as 1\)/);
    const list = sluice(dir, '--json', 'quarantine').json<{ batches: { id: number; status: string; rows: number }[] }>();
    expect(list.batches).toMatchObject([{ id: 1, status: 'held', rows: 2 }]);

    const released = sluice(dir, 'quarantine', 'release', '1', '--by', 'ana');
    expect(released.stdout).toMatch(/^released quarantined batch 1: 2 rows committed to "txns" as snapshot \S+ \(by ana\)\napplied to the online tables of stats\n/);
    expect(sluice(dir, 'quarantine', 'release', '1').stdout).toContain('quarantined batch 1 is released: its rows are in snapshot');
    expect(sluice(dir, 'quarantine').stdout).toBe('No batch is held in quarantine.\n');
    expect(sluice(dir, 'quarantine', 'list', '--all').stdout).toMatch(/1\s+txns\s+released\s+2 .* ana /);
    expect(sluice(dir, 'ingest', 'txns', '--file', 'bad.csv').stdout).toContain('was already ingested');

    writeFileSync(join(dir, 'bad2.csv'), 'txn_id,customer_id,amount,ts\nt5,c1,,2024-01-04T00:00:00Z\n');
    expect(sluice(dir, 'ingest', 'txns', '--file', 'bad2.csv').code).not.toBe(0);
    expect(sluice(dir, 'quarantine', 'drop', '2', '--by', 'bo').stdout).toBe('dropped quarantined batch 2 of "txns" (1 rows, by bo)\n');
    expect(sluice(dir, 'quarantine', 'release', '2').stderr).toContain('quarantined batch 2 was dropped by bo');
    // The check's latest result names the batch's state now, not the state it had when it failed.
    expect(sluice(dir, 'checks', '--failed').stdout).toMatch(/txns\s+amount_not_null\s+error\s+FAIL\s+1\s+1 .*\(quarantined as 2, since dropped\)/);
    expect(sluice(dir, '--json', 'checks', '--failed').json<{ checks: { check: string; quarantineStatus: string }[] }>().checks).toMatchObject([{ check: 'amount_not_null', quarantineStatus: 'dropped' }]);
    // Each release and drop left one audit record, the refused release too.
    const audited = (action: string) => sluice(dir, '--json', 'audit', 'list', '--action', action).json<{ records: Array<{ target: string; outcome: string; details: Record<string, unknown> }> }>().records;
    expect(audited('quarantine.release').map((r) => [r.target, r.outcome])).toEqual([['quarantine:2', 'failed'], ['quarantine:1', 'succeeded'], ['quarantine:1', 'succeeded']]);
    expect(audited('quarantine.drop')).toMatchObject([{ target: 'quarantine:2', outcome: 'succeeded', details: { batch: 2, dataset: 'txns', rows: 1, by: 'bo' } }]);
    expect(sluice(dir, 'materialize').code).toBe(0);
  });

  test('a check no longer declared is not listed by "sluice checks" (its last result stays in the store)', () => {
    write(`range('amount', { min: 0 })`);
    expect(sluice(dir, 'apply').code).toBe(0);
    const all = sluice(dir, 'checks');
    expect(all.stdout).toContain('amount_range');
    expect(all.stdout).not.toMatch(/^txns\s+amount_not_null/m);
    expect(all.stdout).toContain('2 checks no longer declared are not listed (amount_not_null, txn_id_unique of "txns")');
    expect(sluice(dir, 'checks', '--failed').stdout).toContain('No check is failing.');
    expect(sluice(dir, '--json', 'checks').json<{ checks: { check: string }[]; removed: string[] }>()).toMatchObject({ checks: [{ check: 'amount_range' }], removed: ['txns/amount_not_null', 'txns/txn_id_unique'] });
  });
});
