// The project of the real-time benchmarks (push, JetStream): a stream source of payments and a
// view of windowed aggregations over it, as a fraud-scoring team would define.
export const STREAM_CONFIG = `import { defineProject, entity, streamSource, featureView, count, sum, avg, max, last, countDistinct } from 'sluice';
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({ name: 'payments', timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' } });
const stats = featureView({ name: 'payment_stats', entity: account, source: payments, features: {
  n_10m: count({ window: '10m' }), n_1h: count({ window: '1h' }), usd_1h: sum('amount', { window: '1h' }),
  usd_24h: sum('amount', { window: '24h' }), avg_24h: avg('amount', { window: '24h' }), max_1h: max('amount', { window: '1h' }),
  channels_24h: countDistinct('channel', { window: '24h' }), last_channel: last('channel'),
} });
export default defineProject({ name: 'push_bench', entities: [account], sources: [payments], featureViews: [stats] });
`;

// The same view with row transforms (`--shaped` in bench/push.js): a filter that keeps every
// payment and two derived columns its features read, so the difference is the transforms' cost
// on the push path (decoding evaluates them in DuckDB for each batch).
export const SHAPED_STREAM_CONFIG = STREAM_CONFIG.replace(
  "features: {\n  n_10m",
  "filter: \"amount >= 0 OR amount IS NULL OR channel <> ''\",\n  columns: { usd: { type: 'float64', sql: 'round(amount * 1.0825, 2)' }, rail: { type: 'string', sql: \"upper(channel) || '-' || length(channel)\" } },\n  features: {\n  n_10m",
).replace("usd_1h: sum('amount'", "usd_1h: sum('usd'").replace("usd_24h: sum('amount'", "usd_24h: sum('usd'").replace("last_channel: last('channel')", "last_channel: last('rail')");

// The same source with row checks (`--checks` in bench/push.js), all `error` and all passing on
// the generated payments, so the difference is the checks' cost on the push path (they are part
// of the DuckDB query that validates each group).
export const CHECKED_STREAM_CONFIG = STREAM_CONFIG.replace('countDistinct }', "countDistinct, notNull, range, allowedValues, sqlCheck }").replace(
  "allowedLateness: '1h',",
  "allowedLateness: '1h',\n  checks: [notNull('amount', { severity: 'error' }), range('amount', { min: 0, severity: 'error' }), allowedValues('channel', ['card', 'web', 'pos', 'wire'], { severity: 'error' }), sqlCheck('no_future', 'ts <= now()', { severity: 'error' })],",
);
