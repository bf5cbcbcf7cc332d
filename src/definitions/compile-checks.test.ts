import { describe, expect, test } from 'vitest';
import {
  allowedValues, batchSource, compileProject, count, defineProject, entity, featureView, freshness, notNull, range, regex, rowCount, schema, sqlCheck, sqlTransform, unique,
  type CheckSpec, type ProjectSpec,
} from './index.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const columns = { txn_id: 'string', customer_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' } as const;
const txns = (checks?: readonly CheckSpec[]) => batchSource({ name: 'transactions', schema: columns, timestamp: 'ts', ...(checks ? { checks } : {}) });
const project = (checks?: readonly CheckSpec[]) => {
  const source = txns(checks);
  return compileProject(defineProject({ name: 'p', entities: [customer], sources: [source], featureViews: [featureView({ name: 'v', entity: customer, source, features: { n: count() } })] }));
};

describe('check definitions', () => {
  test('the issue\'s checks compile, with default names, severity warn and mostly 1', () => {
    const compiled = project([notNull('amount', { severity: 'error' }), range('amount', { min: 0, mostly: 0.99 }), allowedValues('channel', ['web', 'pos', 'atm']),
      unique('txn_id'), rowCount({ min: 1 }), sqlCheck('no_future', 'ts <= now()'), regex('txn_id', '^t[0-9]+$'), freshness('2h'), schema()]);
    const checks = compiled.sources[0]!.checks!;
    expect(checks.map((c) => [c.name, c.kind, c.severity, c.mostly])).toEqual([
      ['amount_not_null', 'notNull', 'error', 1], ['amount_range', 'range', 'warn', 0.99], ['channel_allowed_values', 'allowedValues', 'warn', 1],
      ['txn_id_unique', 'unique', 'warn', 1], ['row_count', 'rowCount', 'warn', 1], ['no_future', 'sql', 'warn', 1], ['txn_id_regex', 'regex', 'warn', 1],
      ['freshness', 'freshness', 'warn', 1], ['schema', 'schema', 'warn', 1],
    ]);
    expect(checks.find((c) => c.name === 'no_future')!.predicate).toBe('("ts" <= "_check_now")');
    expect(checks.find((c) => c.name === 'freshness')).toMatchObject({ columns: ['ts'], maxAgeMs: 7_200_000 });
  });

  test('checks change no value hash', () => {
    const plain = project();
    const checked = project([notNull('amount'), unique('txn_id', { severity: 'error' })]);
    expect(checked.sources[0]!.hash).toBe(plain.sources[0]!.hash);
    expect(checked.featureViews[0]!.hash).toBe(plain.featureViews[0]!.hash);
  });

  test.each([
    [[notNull('amout')], 'source "transactions": check notNull(): column "amout" is not in source "transactions" (did you mean "amount"?)'],
    [[sqlCheck('bad', 'amount >')], 'source "transactions": check "bad": sql "amount >": at character'],
    [[sqlCheck('bad', 'amout > 0')], 'unknown column "amout" (did you mean "amount"?)'],
    [[sqlCheck('bad', 'amount + 1')], 'must be a boolean expression, but it gives a float64'],
    // The article fits the type: "a int64" before 12-01.
    [[sqlCheck('bad', 'length(channel)')], 'must be a boolean expression, but it gives an int64'],
    [[notNull('amount'), notNull('amount')], 'source "transactions": check "amount_not_null": another check of source "transactions" has this name'],
    [[range('channel', { min: 0 })], 'range() needs a numeric or timestamp column, but "channel" is string'],
    [[range('amount', {})], 'range() needs min, max or both'],
    [[range('amount', { min: 0, mostly: 1.5 })], 'mostly must be a fraction greater than 0 and at most 1'],
    [[rowCount({ min: -1 })], 'min must be a whole number of rows'],
    [[freshness('soon')], 'freshness() needs a positive duration'],
    [[notNull('amount', { severity: 'fatal' as never })], 'severity must be "warn" or "error"'],
    [['notNull' as unknown as CheckSpec], 'checks[0] is not a check'],
  ])('refuses %j', (checks, message) => {
    expect(() => project(checks)).toThrow(message);
  });

  test('transforms and feature views take checks too; a view checks its features and keys', () => {
    const source = txns();
    const daily = sqlTransform({ name: 'daily', inputs: [source], sql: 'SELECT customer_id, sum(amount) AS total, max(ts) AS ts FROM transactions GROUP BY 1', timestamp: 'ts',
      schema: { customer_id: 'string', total: 'float64', ts: 'timestamp' }, checks: [range('total', { min: 0, severity: 'error' })] });
    const view = featureView({ name: 'v', entity: customer, source, features: { n: count() }, checks: [range('n', { max: 1000 })] });
    const compiled = compileProject({ kind: 'project', name: 'p', entities: [customer], sources: [source], transforms: [daily], featureViews: [view] } as ProjectSpec);
    expect(compiled.sources.find((s) => s.name === 'daily')!.checks!.map((c) => c.name)).toEqual(['total_range']);
    expect(compiled.featureViews[0]!.checks!.map((c) => c.description)).toEqual(['n <= 1000']);
    const bad = featureView({ name: 'v', entity: customer, source, features: { n: count() }, checks: [notNull('amount')] });
    expect(() => compileProject({ kind: 'project', name: 'p', entities: [customer], sources: [source], featureViews: [bad] } as ProjectSpec)).toThrow('column "amount" is not in feature view "v"');
  });
});
