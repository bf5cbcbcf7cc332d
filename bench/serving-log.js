// `node bench/serving-log.js` (after `npm run build`): online serving throughput with the sampled
// serving log on (sample rate 1.0 and 0.1) against off, in the same run, over the same store.
// Options:  --events N (300_000)  --entities N (10_000)  --seconds S (5, per load)  --rounds N (3)
//           --port N (6711: the servers listen on N, N+1, N+2; another port when other benches run)
//           --warmup S (3: seconds of load at 16 connections per server before the rounds; the
//           first round used to run on a server still warming up, 20-40% more CPU per request)
// Besides the ratios of the medians, `cpuRatioPaired`: per round, off's CPU per request over the
// mode's in the same round (measured back to back, so under the same load from other work), the
// median and range of the rounds.
// Three `sluice serve` processes over copies of one project and store (`--serving-log-rate 0`, `1`, `0.1`), driven in
// turn by autocannon (16 connections, 1 and 100 entities per request), the order rotated each
// round; medians of the rounds. Throughput and the server's CPU time per request (which a loaded,
// shared machine moves less than throughput). Target: with the log on, >= 90% of the throughput
// off. Needs the serving log writer (`sluice serve --serving-log-rate`).
import { readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchCommit, benchKeys, benchOptions, log, median, withBenchServers } from './lib/server-comparison.js';
import { load } from './serving.js';

const { events, entities, seconds, rounds, port, warmup } = benchOptions({ events: 300_000, entities: 10_000, seconds: 5, rounds: 3, port: 6711, warmup: 3 });
const commit = benchCommit();
/** Bytes of the serving log files a server has written so far. */
const logBytes = (projectDir) => {
  const root = join(projectDir, '.sluice', 'serving-log');
  let bytes = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else bytes += statSync(join(d, e.name)).size;
    }
  };
  try { walk(root); } catch { /* no log yet */ }
  return bytes;
};
await withBenchServers({ prefix: 'sluice-bench-servinglog-', events, entities }, async ({ startServer }) => {
  const modes = [{ name: 'off', rate: '0' }, { name: 'rate1', rate: '1' }, { name: 'rate0.1', rate: '0.1' }];
  // A copy of the project (and its store) per server, so each writes its own log.
  for (const [i, mode] of modes.entries()) await startServer(mode, { port: port + i, args: ['--serving-log-rate', mode.rate] });
  const results = {};
  for (const count of [1, 100]) {
    // One body per load, as bench/serving.js drives it: at 100 entities a 0.1 rate logs about a tenth of
    // the rows; at 1 entity its key is sampled or not, so that figure is either the off or the 1.0 cost.
    const body = { service: 'all', entities: { customer_id: benchKeys(count, 17, entities) } };
    const runs = Object.fromEntries(modes.map((m) => [m.name, []]));
    for (const m of modes) await load(m.server, m.url, body, 16, warmup);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < modes.length; k++) {
        const m = modes[(round + k) % modes.length];
        const before = logBytes(m.dir);
        const r = await load(m.server, m.url, body, 16, seconds);
        runs[m.name].push({ ...r, logBytesPerSecond: Math.round((logBytes(m.dir) - before) / seconds) });
        log(`${count} entities, ${m.name}: ${r.requestsPerSecond} req/s, ${r.cpuMsPerRequest} ms CPU/request`);
      }
    }
    const summary = Object.fromEntries(modes.map((m) => [m.name, {
      requestsPerSecond: median(runs[m.name].map((r) => r.requestsPerSecond)), cpuMsPerRequest: median(runs[m.name].map((r) => r.cpuMsPerRequest)),
      p99Ms: median(runs[m.name].map((r) => r.p99Ms)), logBytesPerSecond: median(runs[m.name].map((r) => r.logBytesPerSecond)),
    }]));
    const ratio = (a, b) => Number((a / b).toFixed(3));
    results[`entities${count}`] = {
      ...summary,
      throughputRatio: { rate1: ratio(summary.rate1.requestsPerSecond, summary.off.requestsPerSecond), 'rate0.1': ratio(summary['rate0.1'].requestsPerSecond, summary.off.requestsPerSecond) },
      // CPU per request off over on: the throughput ratio a CPU-bound server would show.
      cpuRatio: { rate1: ratio(summary.off.cpuMsPerRequest, summary.rate1.cpuMsPerRequest), 'rate0.1': ratio(summary.off.cpuMsPerRequest, summary['rate0.1'].cpuMsPerRequest) },
      cpuRatioPaired: Object.fromEntries(['rate1', 'rate0.1'].map((mode) => {
        const perRound = runs.off.map((r, i) => ratio(r.cpuMsPerRequest, runs[mode][i].cpuMsPerRequest));
        return [mode, { median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound) }];
      })),
    };
  }
  process.stdout.write(`${JSON.stringify({ commit, at: new Date().toISOString(), loadAverage: loadavg().map((l) => Number(l.toFixed(2))), events, entities, seconds, rounds, warmup, connections: 16, target: 'with the log on >= 0.9x the throughput off', ...results }, null, 2)}\n`);
});
