// The floor for dataset builds: one hand-written DuckDB statement computing the same 50 values
// over the same Parquet files, as a DuckDB expert would write it for this project (one range
// join, ASOF joins for the latest values). Sums use DuckDB's `fsum` (compensated summation), the
// closest SQL gets to Sluice's correctly rounded exact sums: equal in nearly every row, which the
// bench counts. `sumFunction: 'sum'` gives the plain, order-dependent parallel sum.
const W = { '10m': 600_000, '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000, '7d': 604_800_000 };
const D30 = 30 * 86_400_000;
const ORD = '((e._ts::HUGEINT << 40) + e._seq)';

export function floorQuery({ spine, txnFiles, customerFiles, out, sumFunction = 'fsum' }) {
  const list = (files) => `[${files.map((f) => `'${f}'`).join(', ')}]`;
  // Each distinct sum is computed once; the average divides it by the non-null count.
  const sumExpr = (w) => `${sumFunction}(e.amount) FILTER (WHERE e._ts >= p.t - ${w})`;
  const agg = Object.entries(W).flatMap(([name, w]) => {
    const f = `FILTER (WHERE e._ts >= p.t - ${w})`;
    return [
      `count(e._seq) ${f} AS "txn__count_${name}"`,
      `${sumExpr(w)} AS "txn__sum_${name}"`,
      `min(e.amount) ${f} AS "txn__min_${name}"`,
      `max(e.amount) ${f} AS "txn__max_${name}"`,
      `count(DISTINCT e.merchant) ${f} AS "txn__merchants_${name}"`,
      `arg_max(e.amount, ${ORD}) FILTER (WHERE e.amount IS NOT NULL AND e._ts >= p.t - ${w}) AS "txn__last_${name}"`,
      `count(e.amount) ${f} AS "txn__count_amount_${name}"`,
    ];
  });
  const columns = [
    ...Object.keys(W).flatMap((n) => ['count', 'sum', 'avg', 'min', 'max', 'merchants', 'last', 'count_amount'].map((k) =>
      k === 'avg' ? `a."txn__sum_${n}" / a."txn__count_amount_${n}" AS "txn__avg_${n}"` : `a."txn__${k}_${n}"`)),
    'la.amount AS "txn__last_amount"', 'lm.merchant AS "txn__last_merchant"', 'a."txn__sum_30d"', 'a."txn__count_30d"',
    ...['segment', 'country', 'tier', 'risk', 'verified'].map((c) => `CASE WHEN pr._ts >= s.t - ${90 * 86_400_000} THEN pr.${c} END AS "profile__${c}"`),
    `CASE WHEN pr._ts >= s.t - ${90 * 86_400_000} THEN pr.updated_at END AS "profile__updated_at"`,
  ];
  return `COPY (
    WITH s AS (SELECT *, epoch_ms(ts) AS t, row_number() OVER () AS rn FROM read_parquet('${spine}')),
    p AS (SELECT DISTINCT customer_id, t FROM s),
    e AS (SELECT customer_id, _ts, _seq, amount, merchant FROM read_parquet(${list(txnFiles)})),
    a AS (SELECT p.customer_id, p.t, ${agg.join(', ')},
            ${sumExpr(D30)} AS "txn__sum_30d", count(e._seq) AS "txn__count_30d"
          FROM p LEFT JOIN e ON e.customer_id = p.customer_id AND e._ts < p.t AND e._ts >= p.t - ${D30} GROUP BY ALL),
    la AS (SELECT p.customer_id, p.t, x.amount FROM p ASOF LEFT JOIN
            (SELECT customer_id, (_ts::HUGEINT << 40) + _seq AS o, amount FROM e WHERE amount IS NOT NULL) x
            ON x.customer_id = p.customer_id AND (p.t::HUGEINT << 40) > x.o),
    lm AS (SELECT p.customer_id, p.t, x.merchant FROM p ASOF LEFT JOIN
            (SELECT customer_id, (_ts::HUGEINT << 40) + _seq AS o, merchant FROM e WHERE merchant IS NOT NULL) x
            ON x.customer_id = p.customer_id AND (p.t::HUGEINT << 40) > x.o),
    pr AS (SELECT p.customer_id, p.t, x.* EXCLUDE (customer_id, o) FROM p ASOF LEFT JOIN
            (SELECT customer_id, _ts, (_ts::HUGEINT << 40) + _seq AS o, segment, country, tier, risk, verified, updated_at FROM read_parquet(${list(customerFiles)})) x
            ON x.customer_id = p.customer_id AND (p.t::HUGEINT << 40) > x.o)
    SELECT s.customer_id, s.ts, s.label, ${columns.join(', ')}
    FROM s LEFT JOIN a ON a.customer_id = s.customer_id AND a.t = s.t
    LEFT JOIN la ON la.customer_id = s.customer_id AND la.t = s.t
    LEFT JOIN lm ON lm.customer_id = s.customer_id AND lm.t = s.t
    LEFT JOIN pr ON pr.customer_id = s.customer_id AND pr.t = s.t
    ORDER BY s.rn) TO '${out}' (FORMAT PARQUET)`;
}
