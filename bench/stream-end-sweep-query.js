// node bench/stream-end-sweep-query.js [dist] [rounds]: the sweep's query shape over the bench lake's 10M transactions
// (entities numbered through a join, sorted on (_kid, _time, _seq)), streamed through the engine of `dist` two ways,
// alternating in one process: the engine's wrap (a union after the sort) and the marker riding the sort
// (carriesEndMarker with withSortedStreamEnd). Prints process CPU, main-thread CPU and wall per stream.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const dist = resolve(process.argv[2] ?? 'dist');
const rounds = Number(process.argv[3] ?? 6);
const load = async (m) => import(pathToFileURL(join(dist, m)).href);
const { duckDbEngine } = await load('storage/engine/duckdb-engine.js');
const { withSortedStreamEnd } = await load('storage/engine/stream-end.js');
const engine = await duckDbEngine({ threads: 2 });
const lake = resolve('bench/.work-copy/.sluice/lake/transactions/*.parquet');
await engine.run(`CREATE TABLE kids AS SELECT customer_id AS _key, row_number() OVER ()::DOUBLE AS _kid FROM (SELECT DISTINCT customer_id FROM read_parquet('${lake}'))`);
const rows = `SELECT r._kid, epoch_ms(e.ts)::DOUBLE AS _time, coalesce(e.amount, 'NaN'::DOUBLE) AS amount, e.merchant, e._seq AS _seq FROM read_parquet('${lake}') e JOIN kids r ON r._key = e.customer_id`;
const variants = {
  wrap: [`${rows} ORDER BY _kid, _time, _seq`, {}],
  carried: [withSortedStreamEnd(rows, '_kid, _time, _seq', "'Infinity'::DOUBLE AS _kid, 'Infinity'::DOUBLE AS _time, 0::BIGINT AS _seq"), { carriesEndMarker: true }],
};
const mainMs = () => { const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' '); return ((Number(f[11]) + Number(f[12])) * 1000) / 100; };
async function run([sql, options]) {
  const cpu = process.cpuUsage(); const main = mainMs(); const t = performance.now(); let n = 0;
  for await (const chunk of engine.streamChunks(sql, options)) n += chunk.rowCount;
  const u = process.cpuUsage(cpu);
  return { cpu: Math.round((u.user + u.system) / 1000), main: Math.round(mainMs() - main), wall: Math.round(performance.now() - t), rows: n };
}
const names = Object.keys(variants);
for (let round = 0; round < rounds; round++) {
  for (const k of (round % 2 ? [...names].reverse() : names)) console.log(JSON.stringify({ round, variant: k, load1: (await import('node:os')).loadavg()[0], ...(await run(variants[k])) }));
}
await engine.close();
