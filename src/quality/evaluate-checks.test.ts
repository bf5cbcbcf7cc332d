import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { allowedValues, compileChecks, freshness, notNull, range, regex, rowCount, schema, sqlCheck, unique, type CheckSpec, type Schema } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { checkProbeSql, evaluateChecks } from './evaluate-checks.js';

const columns: Schema = { txn_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' };
const NOW = Date.parse('2024-01-02T00:00:00Z');
let engine: SqlEngine;

beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  // Ten rows: t0..t9; amount -1 in one row, null in one; channel 'fax' in one; t3 twice.
  await engine.run(`CREATE TABLE batch AS SELECT * FROM (VALUES
    ('t0', 10.0, 'web', TIMESTAMP '2024-01-01 23:00:00'), ('t1', -1.0, 'pos', TIMESTAMP '2024-01-01 22:00:00'),
    ('t2', NULL, 'atm', TIMESTAMP '2024-01-01 21:00:00'), ('t3', 5.0, 'fax', TIMESTAMP '2024-01-01 20:00:00'),
    ('t3', 6.0, 'web', TIMESTAMP '2024-01-01 19:00:00'), ('t5', 7.0, 'web', TIMESTAMP '2024-01-01 18:00:00'),
    ('t6', 8.0, NULL, TIMESTAMP '2024-01-01 17:00:00'), ('t7', 9.0, 'pos', TIMESTAMP '2024-01-01 16:00:00'),
    ('x8', 1.0, 'pos', TIMESTAMP '2024-01-01 15:00:00'), ('t9', 2.0, 'pos', TIMESTAMP '2024-01-03 00:00:00')) AS t(txn_id, amount, channel, ts)`);
});
afterAll(async () => engine.close());

const evaluate = async (specs: readonly CheckSpec[], observedColumns?: Record<string, string | null>) => {
  const checks = compileChecks({ where: 'source "txns"', schema: columns, timestamp: 'ts' }, specs);
  return evaluateChecks(engine, { dataset: 'txns', schema: columns, checks }, 'SELECT * FROM batch', { now: NOW, ...(observedColumns ? { observedColumns } : {}) });
};
const outcome = async (spec: CheckSpec) => {
  const [result] = (await evaluate([spec])).results;
  return { passed: result!.passed, failing: result!.failingRows, samples: result!.samples };
};

describe('each check kind passes and fails on crafted data', () => {
  test.each([
    [notNull('amount'), { passed: false, failing: 1, samples: ['{"txn_id":"t2","amount":null,"channel":"atm","ts":"2024-01-01 21:00:00"}'] }],
    [notNull('txn_id'), { passed: true, failing: 0, samples: [] }],
    [range('amount', { min: 0 }), { passed: false, failing: 1, samples: ['-1.0'] }],
    [range('amount', { min: -5, max: 100 }), { passed: true, failing: 0, samples: [] }],
    [allowedValues('channel', ['web', 'pos', 'atm']), { passed: false, failing: 1, samples: ['"fax"'] }],
    [allowedValues('channel', ['web', 'pos', 'atm', 'fax']), { passed: true, failing: 0, samples: [] }],
    [unique('txn_id'), { passed: false, failing: 2, samples: ['"t3"'] }],
    [unique(['txn_id', 'channel']), { passed: true, failing: 0, samples: [] }],
    [regex('txn_id', '^t[0-9]$'), { passed: false, failing: 1, samples: ['"x8"'] }],
    [regex('txn_id', '[0-9]'), { passed: true, failing: 0, samples: [] }],
    [sqlCheck('no_future', 'ts <= now()'), { passed: false, failing: 1 }],
    [sqlCheck('positive_or_missing', 'amount > -2 OR amount IS NULL'), { passed: true, failing: 0, samples: [] }],
  ])('%j', async (spec, expected) => {
    expect(await outcome(spec)).toMatchObject(expected);
  });

  test('rowCount from the same scan', async () => {
    const { results } = await evaluate([rowCount({ min: 1, max: 10 }), rowCount({ min: 11, name: 'at_least_11' }), rowCount({ max: 9, name: 'at_most_9' })]);
    expect(results.map((r) => [r.check, r.passed, r.totalRows])).toEqual([['row_count', true, 10], ['at_least_11', false, 10], ['at_most_9', false, 10]]);
  });

  test('freshness: the newest event against the evaluation time', async () => {
    const { results } = await evaluate([freshness('1h', { column: 'ts' }), freshness('1h', { name: 'fresh_from_2_days_later' })]);
    expect(results[0]).toMatchObject({ passed: true, samples: ['2024-01-03T00:00:00.000Z'] });
    const late = await evaluateChecks(engine, { dataset: 'txns', schema: columns, checks: compileChecks({ where: 's', schema: columns, timestamp: 'ts' }, [freshness('1h')]) },
      'SELECT * FROM batch', { now: NOW + 2 * 86_400_000 });
    expect(late.results[0]).toMatchObject({ passed: false, message: 'newest ts within 1h: the newest is 2024-01-03T00:00:00.000Z, 1d old' });
    const empty = await evaluateChecks(engine, { dataset: 'txns', schema: columns, checks: compileChecks({ where: 's', schema: columns, timestamp: 'ts' }, [freshness('1h')]) },
      'SELECT * FROM batch WHERE false', { now: NOW });
    expect(empty.results[0]).toMatchObject({ passed: false, message: 'newest ts within 1h: the batch has no event' });
  });

  test('schema: the input\'s columns against the declared schema or an expected set', async () => {
    expect((await evaluate([schema()], { txn_id: null, amount: null, channel: null, ts: null })).results[0]!.passed).toBe(true);
    const changed = (await evaluate([schema()], { txn_id: 'VARCHAR', amount: 'VARCHAR', ts: 'TIMESTAMP', merchant: 'VARCHAR' })).results[0]!;
    expect(changed).toMatchObject({ passed: false, message: 'schema changed: missing channel; unexpected merchant; amount is VARCHAR, expected float64' });
    expect((await evaluate([schema(['txn_id', 'amount', 'channel', 'ts'])], { txn_id: 'VARCHAR', amount: 'VARCHAR', channel: null, ts: null })).results[0]!.passed).toBe(true);
  });
});

test('mostly: the fraction of rows that must pass', async () => {
  const { results } = await evaluate([range('amount', { min: 0, mostly: 0.9, name: 'ninety' }), range('amount', { min: 0, mostly: 0.95, name: 'ninety_five' }), unique('txn_id', { mostly: 0.8 })]);
  expect(results.map((r) => [r.check, r.passed, r.observedFraction])).toEqual([['ninety', true, 0.9], ['ninety_five', false, 0.9], ['txn_id_unique', true, 0.8]]);
  expect(results[1]!.message).toBe('amount >= 0: 1 of 10 rows fail (at least 95% must pass, 90% did)');
});

test('severity is carried into each result; the profile counts rows and nulls per column from the same scan', async () => {
  const { results, profile } = await evaluate([notNull('amount', { severity: 'error' }), notNull('channel')]);
  expect(results.map((r) => [r.check, r.severity, r.passed])).toEqual([['amount_not_null', 'error', false], ['channel_not_null', 'warn', false]]);
  expect(profile).toEqual({ rowCount: 10, nullCounts: { txn_id: 0, amount: 1, channel: 1, ts: 0 } });
});

test('a regex DuckDB cannot compile is refused by the probe of its predicate', async () => {
  const [bad] = compileChecks({ where: 's', schema: columns }, [regex('txn_id', '(')]);
  await expect(engine.all(checkProbeSql(columns, bad!)!)).rejects.toThrow();
  const [good] = compileChecks({ where: 's', schema: columns }, [regex('txn_id', '^t')]);
  await expect(engine.all(checkProbeSql(columns, good!)!)).resolves.toEqual([]);
});
