import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { literal, type SqlEngine } from '../storage/engine/sql-engine.js';

export interface FraudDataOptions {
  readonly dir: string;
  readonly customers: number;
  readonly transactions: number;
  readonly days: number;
  /** The end of the generated period (epoch ms); events fall in `[end - days, end)`. */
  readonly end: number;
  readonly spineRows: number;
}

export interface FraudDataFiles {
  readonly transactions: string;
  readonly customers: string;
  readonly labels: string;
  readonly lateFeed: string;
}

/** A deterministic uniform number in [0, 1) from a row number and a salt (no RNG state, so parallel-safe). */
const u = (expr: string, salt: string): string => `(hash(${expr}, ${literal(salt)}) % 1000000007) / 1000000007.0`;

/**
 * Generates a realistic synthetic fraud data set with set-based SQL: customer profiles that are
 * refreshed over time, merchants with skewed popularity, log-normal amounts, and 2% fraudsters whose
 * fraud comes in bursts of small payments at unusual merchants. Labels are transactions with
 * their outcome, to be used as a spine. Also a small JSONL feed with a few broken records.
 */
export async function generateFraudData(engine: SqlEngine, options: FraudDataOptions): Promise<FraudDataFiles> {
  const { dir, customers, transactions, days, end, spineRows } = options;
  const span = days * 86_400_000;
  const start = end - span;
  const files: FraudDataFiles = {
    transactions: join(dir, 'transactions.parquet'),
    customers: join(dir, 'customers.parquet'),
    labels: join(dir, 'labels.parquet'),
    lateFeed: join(dir, 'late_transactions.jsonl'),
  };
  await engine.run(`CREATE OR REPLACE TEMP TABLE demo_customers AS
    SELECT printf('c%06d', i) AS customer_id, ${u('i', 'fraudster')} < 0.02 AS fraudster,
           (['bronze', 'silver', 'gold', 'platinum'])[1 + floor(${u('i', 'segment')} * 4)::INT] AS segment
    FROM range(${customers}) r(i)`);
  const burst = Math.floor(transactions * 0.01);
  await engine.run(`CREATE OR REPLACE TEMP TABLE demo_txns AS
    WITH normal AS (
      SELECT i, printf('c%06d', floor(pow(${u('i', 'cust')}, 1.3) * ${customers})::INT) AS customer_id,
             round(exp(2.5 + 1.1 * sqrt(-2 * ln(${u('i', 'a1')} + 1e-12)) * cos(6.283185 * ${u('i', 'a2')})), 2) AS amount,
             printf('m%04d', floor(pow(${u('i', 'merch')}, 2) * 800)::INT) AS merchant,
             ${start} + floor(${u('i', 'ts')} * ${span})::BIGINT AS ts_ms, 0 AS is_fraud
      FROM range(${transactions - burst}) r(i)),
    fraudsters AS (SELECT customer_id, row_number() OVER (ORDER BY customer_id) - 1 AS k FROM demo_customers WHERE fraudster),
    bursts AS (
      SELECT ${transactions} + i AS i, f.customer_id,
             round(1 + 40 * ${u('i', 'fa')}, 2) AS amount, printf('m%04d', 800 + floor(${u('i', 'fm')} * 200)::INT) AS merchant,
             ${start} + floor(${u('i // 20', 'fts')} * ${span})::BIGINT + floor(${u('i', 'fo')} * 3600000)::BIGINT AS ts_ms, 1 AS is_fraud
      FROM range(${burst}) r(i) JOIN fraudsters f ON f.k = (i // 20) % (SELECT count(*) FROM fraudsters))
    SELECT printf('t%08d', i) AS txn_id, customer_id, amount, merchant, epoch_ms(ts_ms) AS ts, is_fraud FROM normal
    UNION ALL SELECT printf('t%08d', i), customer_id, amount, merchant, epoch_ms(ts_ms), is_fraud FROM bursts`);
  await engine.run(`COPY (SELECT txn_id, customer_id, amount, merchant, ts FROM demo_txns ORDER BY ts) TO ${literal(files.transactions)} (FORMAT PARQUET)`);
  // Profiles: a first record up to three weeks before the period, then a refresh inside it
  // (10% of customers upgraded to platinum), so the 30-day ttl of the profile view mostly holds.
  await engine.run(`COPY (
      SELECT customer_id, segment, epoch_ms(${start} - 86400000 * (1 + floor(${u('customer_id', 'upd')} * 20))::BIGINT) AS updated_at FROM demo_customers
      UNION ALL
      SELECT customer_id, CASE WHEN ${u('customer_id', 'up')} < 0.1 THEN 'platinum' ELSE segment END,
             epoch_ms(${start} + floor(${u('customer_id', 'upg')} * ${span} * 0.9)::BIGINT) FROM demo_customers
    ) TO ${literal(files.customers)} (FORMAT PARQUET)`);
  await engine.run(`COPY (
      SELECT customer_id, ts, is_fraud FROM demo_txns
      WHERE ts >= epoch_ms(${start + 7 * 86_400_000}) AND (is_fraud = 1 OR ${u('txn_id', 'spine')} < ${spineRows / transactions})
      ORDER BY ts LIMIT ${spineRows}
    ) TO ${literal(files.labels)} (FORMAT PARQUET)`);
  const late = end - 60_000;
  const lines = [
    { txn_id: 'late1', customer_id: 'c000001', amount: 12.5, merchant: 'm0001', ts: new Date(late - 5_000).toISOString() },
    { txn_id: 'late2', customer_id: 'c000001', amount: 'twelve', merchant: 'm0002', ts: new Date(late).toISOString() },
    { txn_id: 'late3', customer_id: 'c000002', amount: 8, merchant: 'm0003' },
  ].map((r) => JSON.stringify(r));
  lines.splice(2, 0, '{"txn_id": "late4", "customer_id": ');
  await writeFile(files.lateFeed, `${lines.join('\n')}\n`);
  await engine.run('DROP TABLE demo_txns; DROP TABLE demo_customers');
  return files;
}
