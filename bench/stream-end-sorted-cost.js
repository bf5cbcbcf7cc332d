// node bench/stream-end-sorted-cost.js [rounds]: process CPU and wall per sorted stream of raw node-api (3M rows, threads 2, rounds alternating):
// plain ORDER BY; the engine's wrap (UNION ALL BY NAME after the sort); the marker riding the sort as its first key with NULL
// or non-NULL keys on the marker row; and the marker row with +Infinity keys and no extra key (the sweep before b1937e8).
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
await c.run('SET threads = 2');
await c.run(`CREATE TABLE ev AS SELECT (hash(i) % 50000)::DOUBLE AS _kid, (i * 7 % 86400000)::DOUBLE AS _time, random() AS a, random() AS b, random() AS c2, i AS _seq FROM range(3000000) t(i)`);
const keys = '_kid, _time, _seq';
const rows = 'SELECT *, false AS _m FROM (SELECT * FROM ev)';
const variants = {
  plain: `SELECT * FROM ev ORDER BY ${keys}`,
  wrap: `SELECT *, false AS _m FROM (\nSELECT * FROM ev ORDER BY ${keys}\n) UNION ALL BY NAME SELECT true AS _m`,
  leadNull: `SELECT * FROM (${rows} UNION ALL BY NAME SELECT true AS _m) ORDER BY _m, ${keys}`,
  leadKeys: `SELECT * FROM (${rows} UNION ALL BY NAME SELECT 'Infinity'::DOUBLE AS _kid, 'Infinity'::DOUBLE AS _time, 0 AS _seq, true AS _m) ORDER BY _m, ${keys}`,
  infinity: `SELECT * FROM (${rows} UNION ALL BY NAME SELECT 'Infinity'::DOUBLE AS _kid, 'Infinity'::DOUBLE AS _time, 0 AS _seq, true AS _m) ORDER BY ${keys}`,
};
async function run(sql) {
  const cpu = process.cpuUsage(); const t = performance.now();
  const r = await c.stream(sql); let n = 0;
  for (;;) { const ch = await r.fetchChunk(); if (!ch || ch.rowCount === 0) break; n += ch.rowCount; }
  const u = process.cpuUsage(cpu);
  return { cpu: (u.user + u.system) / 1000, wall: performance.now() - t, rows: n };
}
const rounds = Number(process.argv[2] ?? 8);
const res = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round < rounds; round++) for (const k of (round % 2 ? Object.keys(variants).reverse() : Object.keys(variants))) res[k].push(await run(variants[k]));
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(9), 'cpu', v.map((x) => Math.round(x.cpu)).join(' '), '| wall', v.map((x) => Math.round(x.wall)).join(' '), '| rows', v[0].rows);
