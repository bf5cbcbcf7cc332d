// node bench/stream-end-order.js <dist> <threads> <rounds>: the engine's streamChunks vs DuckDB's own stream, digests of every value in order.
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
const { duckDbEngine } = await import(pathToFileURL(`${process.argv[2]}/storage/engine/duckdb-engine.js`).href);
const threads = Number(process.argv[3]);
const engine = await duckDbEngine({ threads, memoryLimit: '2GiB' });
const raw = await (await DuckDBInstance.create(':memory:')).connect();
const setup = `CREATE TABLE t AS SELECT i, (hash(i) % 100000)::BIGINT AS k, (i * 7 % 1000)::DOUBLE / 8 AS v FROM range(6000000) t(i)`;
await engine.run(setup); await raw.run(`SET threads = ${threads}`); await raw.run(setup);
const queries = [
  'SELECT i, k, v FROM t WHERE i % 3 <> 0',
  'SELECT k, i, v FROM t ORDER BY k, i',
  'SELECT k, count(*) AS n, sum(i) AS s FROM t GROUP BY k ORDER BY k',
  'SELECT a.i, b.k, a.v FROM t a JOIN (SELECT DISTINCT k FROM t) b ON a.k = b.k ORDER BY a.i DESC LIMIT 4000000',
  'SELECT i, k, v FROM t ORDER BY v, i',
];
const text = (v) => (typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : String(v));
let bad = 0;
for (let round = 0; round < Number(process.argv[4]); round++) for (const q of queries) {
  const a = createHash('sha256'); let n = 0;
  for await (const chunk of engine.streamChunks(q, { ownSession: round % 2 === 1 })) { const cs = [0, 1, 2].map((c) => chunk.column(c)); for (let r = 0; r < chunk.rowCount; r++) for (const c of cs) a.update(`${text(c.get(r))},`); n += chunk.rowCount; }
  const b = createHash('sha256'); let m = 0;
  const res = await raw.stream(q);
  for (let ch = await res.fetchChunk(); ch && ch.rowCount > 0; ch = await res.fetchChunk()) { const cs = [0, 1, 2].map((c) => ch.getColumnVector(c)); for (let r = 0; r < ch.rowCount; r++) for (const c of cs) b.update(`${text(c.getItem(r))},`); m += ch.rowCount; }
  const same = a.digest('hex') === b.digest('hex') && n === m;
  if (!same) bad++;
  console.log(JSON.stringify({ threads, round, query: q, rows: n, directRows: m, same }));
}
console.log(JSON.stringify({ threads, rounds: Number(process.argv[4]), queries: queries.length, differing: bad }));
await engine.close();
