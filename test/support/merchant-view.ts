import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Adds to the `sluice init` project (at `config`) a view of another entity than the customer:
 * `merchant_stats`, keyed by the transactions' merchant, counting them and their distinct
 * customers over ten years. Its online state holds customers' keys and counts their events, so a
 * purge of a customer (or of old events) must rebuild it from the purged lake.
 */
export function addMerchantView(config: string): void {
  const text = readFileSync(config, 'utf8');
  const edited = text
    .replace("const customer = entity({ name: 'customer', joinKey: 'customer_id' });", "const customer = entity({ name: 'customer', joinKey: 'customer_id' });\nconst merchant = entity({ name: 'merchant', joinKey: 'merchant' });")
    .replace('const profile = featureView({', "const merchantStats = featureView({\n  name: 'merchant_stats',\n  entity: merchant,\n  source: transactions,\n  features: { txns_10y: count({ window: '3650d' }), customers_10y: countDistinct('customer_id', { window: '3650d' }) },\n});\n\nconst profile = featureView({")
    .replace('entities: [customer],', 'entities: [customer, merchant],')
    .replace('featureViews: [txnStats, smallTxns, profile],', 'featureViews: [txnStats, smallTxns, profile, merchantStats],');
  if (edited.split('merchant').length < 6) throw new Error(`the init project at ${config} changed: the merchant view could not be added`);
  writeFileSync(config, edited);
}
