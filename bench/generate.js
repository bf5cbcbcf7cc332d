// Generates the benchmark data set with DuckDB: events over 30 days ending at `end`, customer
// profiles, and a spine of (customer, time) rows at random times.
const u = (expr, salt) => `(hash(${expr}, '${salt}') % 1000000007) / 1000000007.0`;

export async function generateBenchData(engine, { dir, events, entities, spineRows, end }) {
  const span = 30 * 86_400_000;
  const start = end - span;
  await engine.run(`COPY (
    SELECT printf('t%09d', i) AS txn_id, printf('c%07d', floor(pow(${u('i', 'c')}, 1.2) * ${entities})::INT) AS customer_id,
           CASE WHEN ${u('i', 'n')} < 0.02 THEN NULL ELSE round(exp(1 + 3 * ${u('i', 'a')}), 2) END AS amount,
           printf('m%05d', floor(pow(${u('i', 'm')}, 2) * 5000)::INT) AS merchant,
           epoch_ms(${start} + floor(${u('i', 't')} * ${span})::BIGINT) AS ts
    FROM range(${events}) r(i)) TO '${dir}/transactions.parquet' (FORMAT PARQUET)`);
  await engine.run(`COPY (
    SELECT printf('c%07d', i) AS customer_id, (['retail', 'smb', 'enterprise'])[1 + floor(${u('i', 's')} * 3)::INT] AS segment,
           (['DE', 'FR', 'US', 'BR', 'IN'])[1 + floor(${u('i', 'k')} * 5)::INT] AS country, floor(${u('i', 'r')} * 5)::BIGINT AS tier,
           round(${u('i', 'q')}, 4) AS risk, ${u('i', 'v')} < 0.7 AS verified,
           epoch_ms(${start} - floor(${u('i', 'u')} * 60 * 86400000)::BIGINT) AS updated_at
    FROM range(${entities}) r(i)) TO '${dir}/customers.parquet' (FORMAT PARQUET)`);
  await engine.run(`COPY (
    SELECT printf('c%07d', floor(pow(${u('i', 'sc')}, 1.2) * ${entities})::INT) AS customer_id,
           epoch_ms(${start + 7 * 86_400_000} + floor(${u('i', 'st')} * ${span - 7 * 86_400_000})::BIGINT) AS ts,
           (${u('i', 'l')} < 0.01)::INT AS label
    FROM range(${spineRows}) r(i)) TO '${dir}/spine.parquet' (FORMAT PARQUET)`);
  return { transactions: `${dir}/transactions.parquet`, customers: `${dir}/customers.parquet`, spine: `${dir}/spine.parquet` };
}
