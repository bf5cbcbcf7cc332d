// node bench/stream-end-wrap-cost.js [query over table ev]: process CPU and wall per stream of raw node-api, the query plain, wrapped with the end marker, as a subquery, and unioned without the false column; 3M rows, threads 2, 8 rounds alternating.
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
await c.run('SET threads = 2');
await c.run(`CREATE TABLE ev AS SELECT (hash(i) % 50000)::DOUBLE AS _kid, (i * 7 % 86400000)::DOUBLE AS _time, random() AS a, random() AS b, random() AS c2, i AS _seq FROM range(3000000) t(i)`);
const base = process.argv[2] ?? 'SELECT * FROM ev ORDER BY _kid, _time, _seq';
const variants = {
  plain: base,
  byName: `SELECT *, false AS _m FROM (\n${base}\n) UNION ALL BY NAME SELECT true AS _m`,
  subquery: `SELECT * FROM (\n${base}\n)`,
  noProjection: `(${base}) UNION ALL BY NAME SELECT true AS _m`,
};
async function run(sql) {
  const cpu = process.cpuUsage(); const t = performance.now();
  const r = await c.stream(sql); let rows = 0;
  for (;;) { const ch = await r.fetchChunk(); if (!ch || ch.rowCount === 0) break; rows += ch.rowCount; }
  const u = process.cpuUsage(cpu);
  return { cpu: (u.user + u.system) / 1000, wall: performance.now() - t, rows };
}
const res = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round < 8; round++) for (const k of (round % 2 ? Object.keys(variants).reverse() : Object.keys(variants))) res[k].push(await run(variants[k]));
for (const [k, v] of Object.entries(res)) console.log(k, 'cpu', v.map((x) => Math.round(x.cpu)).join(' '), 'wall', v.map((x) => Math.round(x.wall)).join(' '), v[0].rows);
