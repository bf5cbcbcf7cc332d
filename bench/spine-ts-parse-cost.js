// node bench/spine-ts-parse-cost.js [rows]: DuckDB time (threads 1, best of 6 per variant, alternating) to read a spine's ts text
// (ISO-8601 and epoch-ms texts) by the rule before 2109c6d (trimmed integer pattern, DuckDB's timestamp cast) and by the one
// rule of a request timestamp field since (parseTimestampOrEpochSql: int64TextSql, parseTimestampTextSql). Needs dist/ (npm run build).
import { DuckDBInstance } from '@duckdb/node-api';
import { parseTimestampOrEpochSql } from '../dist/serving/datasets/spine-timestamp-sql.js';
import { parseTimestampSql } from '../dist/time/index.js';
// main's rule (before 2109c6d), copied for the comparison
function oldSql(expr) {
  const integer = `TRY_CAST(CASE WHEN typeof(${expr}) IN ('BIGINT', 'INTEGER', 'HUGEINT', 'UBIGINT', 'SMALLINT', 'TINYINT', 'UINTEGER') THEN CAST(${expr} AS VARCHAR) ` +
    `WHEN regexp_full_match(trim(CAST(${expr} AS VARCHAR)), '[+-]?[0-9]+') THEN trim(CAST(${expr} AS VARCHAR)) END AS HUGEINT)`;
  return `coalesce(TRY_CAST(${integer} AS BIGINT), ${parseTimestampSql(expr)})`;
}
const db = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
await db.run("SET TimeZone = 'UTC'");
const N = Number(process.argv[2] ?? 1_000_000);
await db.run(`CREATE TABLE iso AS SELECT strftime(TIMESTAMP '2024-01-01' + i * INTERVAL 7 SECOND, '%Y-%m-%dT%H:%M:%S.%gZ') AS c FROM range(${N}) t(i)`);
await db.run(`CREATE TABLE ep AS SELECT CAST(1700000000000 + i * 7000 AS VARCHAR) AS c FROM range(${N}) t(i)`);
const time = async (sql, t) => { const s = performance.now(); await db.run(`SELECT sum(${sql}) FROM ${t}`); return performance.now() - s; };
for (const t of ['iso', 'ep']) {
  const r = { old: [], new: [] };
  for (let round = 0; round < 3; round++) {
    r.old.push(await time(oldSql('c'), t));
    r.new.push(await time(parseTimestampOrEpochSql('c', 'ms'), t));
    r.new.push(await time(parseTimestampOrEpochSql('c', 'ms'), t));
    r.old.push(await time(oldSql('c'), t));
  }
  const best = (a) => Math.min(...a);
  console.log(t, 'rows', N, 'commit', process.env.COMMIT ?? '', 'old best ms', best(r.old).toFixed(0), 'new best ms', best(r.new).toFixed(0), 'ratio new/old', (best(r.new) / best(r.old)).toFixed(2));
}
