import { defineProject, entity, batchSource, featureView, featureService,
  field, count, sum, avg, min, max, last, countDistinct } from 'sluice';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', timestamp: 'ts',
  schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' } });
const customers = batchSource({ name: 'customers', timestamp: 'updated_at',
  schema: { customer_id: 'string', segment: 'string', country: 'string', tier: 'int64', risk: 'float64', verified: 'bool', updated_at: 'timestamp' } });

const windows = ['10m', '1h', '6h', '24h', '7d'];
const windowed = Object.fromEntries(windows.flatMap((w) => [
  ['count_' + w, count({ window: w })],
  ['sum_' + w, sum('amount', { window: w })],
  ['avg_' + w, avg('amount', { window: w })],
  ['min_' + w, min('amount', { window: w })],
  ['max_' + w, max('amount', { window: w })],
  ['merchants_' + w, countDistinct('merchant', { window: w })],
  ['last_' + w, last('amount', { window: w })],
  ['count_amount_' + w, count('amount', { window: w })],
]));
const txnStats = featureView({ name: 'txn', entity: customer, source: transactions, features: {
  ...windowed,
  last_amount: last('amount'),
  last_merchant: last('merchant'),
  sum_30d: sum('amount', { window: '30d' }),
  count_30d: count({ window: '30d' }),
} });
const profile = featureView({ name: 'profile', entity: customer, source: customers, ttl: '90d', features: {
  segment: field('segment'), country: field('country'), tier: field('tier'), risk: field('risk'), verified: field('verified'),
  updated_at: field('updated_at'),
} });
export default defineProject({ name: 'bench', entities: [customer], sources: [transactions, customers],
  featureViews: [txnStats, profile], featureServices: [featureService({ name: 'all', features: [txnStats, profile] })] });
