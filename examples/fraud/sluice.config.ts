import {
  defineProject, entity, batchSource, streamSource, featureView, featureService,
  field, count, sum, avg, last, countDistinct,
} from 'sluice';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });

// A stream source: files (history, backfills) and live events (POST /v1/push/transactions,
// or a connector such as natsJetStream) feed one history.
const transactions = streamSource({
  name: 'transactions',
  schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' },
  timestamp: 'ts',
  allowedLateness: '1h',
});

const customers = batchSource({
  name: 'customers',
  schema: { customer_id: 'string', segment: 'string', updated_at: 'timestamp' },
  timestamp: 'updated_at',
});

const txnStats = featureView({
  name: 'txn_stats',
  entity: customer,
  source: transactions,
  features: {
    txn_count_1h: count({ window: '1h' }),
    amount_sum_24h: sum('amount', { window: '24h' }),
    amount_avg_7d: avg('amount', { window: '7d' }),
    merchants_7d: countDistinct('merchant', { window: '7d' }),
    last_amount: last('amount'),
  },
});

const profile = featureView({
  name: 'profile',
  entity: customer,
  source: customers,
  ttl: '30d',
  features: { segment: field('segment') },
});

export default defineProject({
  name: 'fraud',
  entities: [customer],
  sources: [transactions, customers],
  featureViews: [txnStats, profile],
  featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, profile] })],
});
