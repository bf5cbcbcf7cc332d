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

// Row transforms: card testing shows as bursts of small payments. The filter and the derived
// column are SQL over one transaction, checked at plan and compiled once; DuckDB runs that same
// SQL for training datasets and for every live event.
const smallTxns = featureView({
  name: 'small_txns',
  entity: customer,
  source: transactions,
  filter: 'amount < 45',
  columns: { cents: { type: 'int64', sql: 'CAST(round(amount * 100) AS BIGINT)' } },
  features: {
    small_count_1h: count({ window: '1h' }),
    small_cents_24h: sum('cents', { window: '24h' }),
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
  featureViews: [txnStats, smallTxns, profile],
  featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],
});
