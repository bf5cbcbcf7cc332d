import { describe, expect, test } from 'vitest';
import { batchSource, count, entity, featureView, field, sum } from './builders.js';
import { compileProject, defineProject } from './compile-project.js';
import { cdcSource } from './stream-builders.js';
import type { FeatureViewSpec } from './types.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({
  name: 'payments', timestamp: 'ts',
  schema: { account_id: 'string', amount: 'float64', fx_rate: 'float64', channel: 'string', ts: 'timestamp' },
});
const card = (extra: Partial<Parameters<typeof featureView>[0]> = {}) =>
  featureView({
    name: 'card_payments', entity: account, source: payments,
    filter: "channel IN ('pos', 'moto')",
    columns: { amount_usd: { type: 'float64', sql: 'amount * coalesce(fx_rate, 1.0)' } },
    features: { usd_sum_24h: sum('amount_usd', { window: '24h' }) },
    ...extra,
  });
const compileView = (view: FeatureViewSpec, sources = [payments]) =>
  compileProject(defineProject({ name: 'p', entities: [account], sources, featureViews: [view] })).featureViews[0]!;

describe('row transforms in definitions', () => {
  test('compile the filter and derived columns to canonical SQL; features read derived columns', () => {
    const view = compileView(card());
    expect(view.filter).toBe(`coalesce(TRY(("channel" IN ('pos', 'moto'))), false)`);
    expect(view.derived).toEqual({ amount_usd: { type: 'float64', sql: 'TRY(CAST(("amount" * coalesce("fx_rate", 1.0)) AS DOUBLE))' } });
    expect(view.columnTypes).toEqual({ account_id: 'string', amount_usd: 'float64' });
    expect(view.features[0]).toMatchObject({ column: 'amount_usd', valueType: 'float64' });
  });

  test('the hash follows what changes values: the compiled SQL, not its spelling or descriptions', () => {
    const base = compileView(card()).hash;
    expect(compileView(card({ filter: "channel   in ('pos','moto')", description: 'card present' })).hash).toBe(base);
    expect(compileView(card({ columns: { amount_usd: { type: 'float64', sql: 'amount*COALESCE(fx_rate,1.0)', description: 'in USD' } } })).hash).toBe(base);
    expect(compileView(card({ filter: "channel IN ('pos')" })).hash).not.toBe(base);
    expect(compileView(card({ columns: { amount_usd: { type: 'float64', sql: 'amount * coalesce(fx_rate, 2.0)' } } })).hash).not.toBe(base);
    // A view without transforms hashes as before they existed.
    const plain = featureView({ name: 'card_payments', entity: account, source: payments, features: { n: count() } });
    expect(compileView(plain).hash).toBe(compileView({ ...plain, filter: undefined, columns: undefined }).hash);
  });

  test.each([
    [{ filter: 'amount + 1' }, /filter "amount \+ 1" must be a boolean expression, but it gives a float64/],
    [{ filter: "chanel = 'pos'" }, /feature view "card_payments": filter "chanel = 'pos'": at character 1: unknown column "chanel".*did you mean "channel"/s],
    [{ filter: 'random() < 0.1' }, /at character 1: function random\(\) is not deterministic/],
    [{ columns: { n: { type: 'int64', sql: 'amount * 2' } } }, /column "n": sql "amount \* 2" gives a float64, but the column is declared int64; change the type or CAST/],
    [{ columns: { n: { type: 'bool', sql: 'length(channel)' } } }, /column "n": sql "length\(channel\)" gives an int64, but the column is declared bool/],
    [{ columns: { amount: { type: 'float64', sql: 'amount * 2' } } }, /derived column "amount" has the name of source "payments"'s column "amount"/],
    [{ columns: { _x: { type: 'float64', sql: 'amount' } } }, /derived column "_x" starts with "_"/],
    [{ columns: { x: { type: 'decimal', sql: 'amount' } } }, /column "x": type must be one of/],
    [{ columns: { x: { type: 'float64', sql: 'amount_usd * 2' } } }, /unknown column "amount_usd"/],
    [{ features: { s: sum('nope') } }, /column "nope" is not in source "payments"/],
  ] as const)('refuses %j', (extra, message) => {
    expect(() => compileView(card(extra as never))).toThrow(message);
  });

  test('CDC views derive columns but do not filter rows', () => {
    const accounts = cdcSource({ name: 'accounts', key: 'account_id', schema: { account_id: 'string', tier: 'string', limit_eur: 'float64' } });
    const ok = featureView({ name: 'acct', entity: account, source: accounts, columns: { tier_up: { type: 'string', sql: 'upper(tier)' } }, features: { tier: field('tier_up') } });
    expect(compileView(ok, [accounts as never]).derived).toBeDefined();
    const filtered = featureView({ name: 'acct', entity: account, source: accounts, filter: "tier = 'gold'", features: { tier: field('tier') } });
    expect(() => compileView(filtered, [accounts as never])).toThrow(/CDC source is a versioned table, so its views cannot filter rows/);
  });
});
