// The project and data of the state-size benchmarks (`bench/state-size.js`,
// `bench/active-entities.js`): one view of features over a 30-day window, exact or hopped by 1h.
import { open } from 'lmdb';

const DAY = 86_400_000;
// Not on an hour boundary: the hopped window then holds its extra partial hop.
export const asOf = Date.UTC(2026, 0, 31, 0, 30);

// Features over one long window (30d), and an unwindowed one (pre-aggregated before the
// horizon on every layout). The hopped variant hops the 30d features by 1h.
export const config = (hop) => {
  const w = hop ? `{ window: '30d', hop: '1h' }` : `{ window: '30d' }`;
  return `import { defineProject, entity, batchSource, featureView, count, sum, avg, max, last, countDistinct } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', timestamp: 'ts',
  schema: { customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' } });
const txn = featureView({ name: 'txn', entity: customer, source: transactions, features: {
  count_30d: count(${w}), sum_30d: sum('amount', ${w}), avg_30d: avg('amount', ${w}),
  max_30d: max('amount', ${w}), merchants_30d: countDistinct('merchant', ${w}),
  last_amount: last('amount'),
} });
export default defineProject({ name: 'state_size', entities: [customer], sources: [transactions], featureViews: [txn] });
`;
};

/** Every entity gets `perEntity` events, evenly spread over (asOf - 30d, asOf), with an entity's own offset. */
export const eventsSql = (entities, perEntity) => `SELECT printf('c%07d', e) AS customer_id,
  CASE WHEN hash(e, i, 'n') % 50 = 0 THEN NULL ELSE round(1 + (hash(e, i, 'a') % 100000) / 100.0, 2) END AS amount,
  printf('m%04d', hash(e, i, 'm') % 500) AS merchant,
  epoch_ms((${asOf - 30 * DAY + 1} + ((i * ${30 * DAY - 2}::HUGEINT + (hash(e) % ${30 * DAY - 2})) // ${perEntity}) % ${30 * DAY - 2})::BIGINT) AS ts
  FROM range(${entities}) a(e), range(${perEntity}) b(i)`;

/** Bytes of the LMDB environment at `path`: every entry's encoded key and value, and the pages in use. */
export function storeBytes(path) {
  const db = open({ path, readOnly: true, encoding: 'binary', keyEncoding: 'binary' });
  try {
    let entries = 0;
    let valueBytes = 0;
    let keyBytes = 0;
    for (const { key, value } of db.getRange()) {
      entries++;
      valueBytes += value.length;
      keyBytes += key.length;
    }
    const stats = db.getStats();
    const pages = stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages;
    return { entries, valueBytes, keyBytes, pageBytes: pages * stats.pageSize };
  } finally {
    db.close();
  }
}
