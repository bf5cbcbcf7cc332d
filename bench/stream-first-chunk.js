// node bench/stream-first-chunk.js <dist> : time to the first chunk and RSS of a non-blocking stream (300M rows, stopped after 2,000 chunks) and a sorted one (5M rows, read whole)
import { pathToFileURL } from 'node:url';
const { duckDbEngine } = await import(pathToFileURL(`${process.argv[2]}/storage/engine/duckdb-engine.js`).href);
const engine = await duckDbEngine({ threads: 2, memoryLimit: '2GiB' });
const out = { dist: process.argv[2] };
for (const [name, sql, stopAfter] of [['scan300M', 'SELECT i::DOUBLE AS v, (i * 3)::DOUBLE AS w FROM range(300000000) t(i)', 2000], ['sort5M', 'SELECT i::DOUBLE AS v, hash(i)::DOUBLE AS h FROM range(5000000) t(i) ORDER BY h', Infinity]]) {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let first, chunks = 0, rows = 0, maxRss = rss0;
  for await (const chunk of engine.streamChunks(sql)) {
    if (first === undefined) first = performance.now() - t0;
    rows += chunk.rowCount;
    if (++chunks % 100 === 0) maxRss = Math.max(maxRss, process.memoryUsage().rss);
    if (chunks >= stopAfter) break;
  }
  out[name] = { firstChunkMs: +first.toFixed(1), totalMs: Math.round(performance.now() - t0), rows, rssGrowthMiB: Math.round((maxRss - rss0) / 2 ** 20) };
}
out.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
await engine.close();
console.log(JSON.stringify(out));
