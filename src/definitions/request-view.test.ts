import { describe, expect, test } from 'vitest';
import { avg, batchSource, cdcSource, compileProject, count, defineProject, entity, featureService, featureView, field, last, requestView } from './index.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', schema: { customer_id: 'string', amount: 'float64', n: 'int64', country: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const txnStats = featureView({ name: 'txn_stats', entity: customer, source: transactions, features: { amount_avg_7d: avg('amount', { window: '7d' }), txn_count: count(), last_n: last('n') } });
const profile = featureView({ name: 'profile', entity: customer, source: transactions, features: { country: field('country'), seen: last('ts') } });

const paymentRisk = requestView({
  name: 'payment_risk',
  request: { amount: 'float64', merchant_country: 'string' },
  inputs: [txnStats, profile],
  features: {
    amount_vs_avg_7d: ({ request, txn_stats }) => (txn_stats.amount_avg_7d === null ? null : request.amount / txn_stats.amount_avg_7d),
    foreign: ({ request, profile }) => request.merchant_country !== profile.country,
    count_plus: ({ txn_stats }) => (txn_stats.txn_count ?? 0) + 1,
  },
  types: { amount_vs_avg_7d: 'float64', foreign: 'bool', count_plus: 'int64' },
});

describe('requestView types', () => {
  test('a misspelt input feature, a wrong result type and an unknown request field are compile errors', () => {
    requestView({
      name: 'typos', request: { amount: 'float64' }, inputs: [txnStats],
      features: {
        // @ts-expect-error: txn_stats has no feature amount_avg_7dd
        a: ({ txn_stats }) => txn_stats.amount_avg_7dd,
        // @ts-expect-error: a string is not a float64
        b: ({ request }) => `${request.amount}`,
        // @ts-expect-error: the request has no field currency
        c: ({ request }) => request.currency,
        // @ts-expect-error: profile is not an input of this view
        d: ({ profile }) => profile.country,
      },
      types: { a: 'float64', b: 'float64', c: 'float64', d: 'string' },
    });
    expect(paymentRisk.kind).toBe('requestView');
  });
});

describe('requestView types over a CDC source', () => {
  test('a field of a CDC view has its column type, as over a stream or batch source', () => {
    const account = entity({ name: 'account', joinKey: 'account_id' });
    const accounts = cdcSource({ name: 'accounts', key: 'account_id', schema: { account_id: 'string', limit: 'float64', tier: 'string' } });
    const acct = featureView({ name: 'acct_v', entity: account, source: accounts, features: { limit: field('limit'), tier: field('tier') } });
    const overLimit = requestView({
      name: 'over_limit', request: { amount: 'float64' }, inputs: [acct],
      features: {
        over: ({ request, acct_v }) => (acct_v.limit === null ? null : request.amount > acct_v.limit),
        // @ts-expect-error: tier is a string, not a float64
        tier: ({ acct_v }) => acct_v.tier,
      },
      types: { over: 'bool', tier: 'float64' },
    });
    expect(accounts.schema).toEqual({ account_id: 'string', limit: 'float64', tier: 'string' });
    expect(overLimit.kind).toBe('requestView');
  });
});

describe('requestView definitions', () => {
  const spec = (views = [paymentRisk]) => defineProject({
    name: 'p', entities: [customer], sources: [transactions], featureViews: [txnStats, profile], requestViews: views,
    featureServices: [featureService({ name: 'risk', features: [txnStats, paymentRisk] }), featureService({ name: 'one', features: ['payment_risk:foreign'] })],
  });

  test('compile into plain JSON with the hash of each function', () => {
    const project = compileProject(spec());
    const [view] = project.requestViews;
    expect(view).toMatchObject({ name: 'payment_risk', request: { amount: 'float64', merchant_country: 'string' }, inputs: ['txn_stats', 'profile'], joinKeys: ['customer_id'] });
    expect(view!.features.map((f) => [f.name, f.valueType])).toEqual([['amount_vs_avg_7d', 'float64'], ['foreign', 'bool'], ['count_plus', 'int64']]);
    expect(view!.features[0]!.sourceHash).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.parse(JSON.stringify(project))).toEqual(project);
    expect(project.featureServices[0]!.features.map((f) => `${f.view}:${f.feature}`)).toContain('payment_risk:foreign');
  });

  test('a project without request views keeps its hash', () => {
    const plain = defineProject({ name: 'p', entities: [customer], sources: [transactions], featureViews: [txnStats] });
    const withEmpty = defineProject({ name: 'p', entities: [customer], sources: [transactions], featureViews: [txnStats], requestViews: [] });
    expect(compileProject(withEmpty).hash).toBe(compileProject(plain).hash);
  });

  test('mistakes are definition errors naming the fix', () => {
    const bad = (over: Record<string, unknown>) => () =>
      compileProject({ ...spec(), featureServices: [], requestViews: [{ ...paymentRisk, ...over }] } as never);
    expect(bad({ name: 'txn_stats' })).toThrow(/"txn_stats" collide|duplicate/);
    expect(bad({ types: { amount_vs_avg_7d: 'float64', foreign: 'bool' } })).toThrow(/feature "count_plus": it has no type/);
    expect(bad({ types: { ...paymentRisk.types, extra: 'bool' } })).toThrow(/types names "extra"/);
    expect(bad({ types: { ...paymentRisk.types, foreign: 'boolean' } })).toThrow(/type "boolean" is not a column type/);
    expect(bad({ inputs: [] })).toThrow(/at least one feature view/);
    expect(bad({ request: { customer_id: 'string' } })).toThrow(/request field "customer_id" is a join key/);
    expect(bad({ features: { ...paymentRisk.features, foreign: 'x' } })).toThrow(/feature "foreign": not a function/);
  });
});
