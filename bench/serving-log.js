// `node bench/serving-log.js` (after `npm run build`): online serving throughput with the sampled
// serving log on (sample rate 1.0 and 0.1) against off, in the same run, over the same store.
// Options:  --events N (300_000)  --entities N (10_000)  --seconds S (4, per load)  --rounds N (6)
//           --port N (6711: the servers listen on N, N+1, ...; another port when other benches run)
//           --warmup S (3: seconds of load at 16 connections per server before the rounds; the
//           first round used to run on a server still warming up, 20-40% more CPU per request)
//           --baseline CHECKOUT: also run another build (a directory with `bin/sluice.js` and a
//           built `dist/`, e.g. main; its commit from git or a COMMIT file), interleaved with this one
//           --counts 1,100 (entities per request)   --no-pin (do not pin; see below)
//           --processes N (1): server processes per mode; each has a speed of its own (5 to 35% apart
//           for the same code on this machine), so a mode's figure in a round is over all of them
//           --together: every server loaded at once in each round (16 connections each), all on the
//           same pinned CPU, so that other work on the machine slows them alike at every moment
//           (taken in turn, a round's modes see different moments); each gets a share of the CPU,
//           so compare CPU per request, not throughput, with the other design's
// Pinning: on 2 CPUs or more the load generator (autocannon, in this process) runs on CPU 0 and
// every server on CPU 1 (`taskset`), so they never take turns on one CPU; the servers are loaded
// one at a time.
// Per round, each build's three servers (off, rate 1.0, rate 0.1) run back to back, the order of
// the builds and of the modes within a build rotated each round. Reported per build: medians of
// the rounds (throughput, server CPU per request, user and system parts), the ratio of the
// medians, and `cpuRatioPaired`: per round, off's CPU per request over the mode's in that round
// (measured back to back, so under the same load from other work), every round's value, their
// median and range; `throughputRatioPaired` likewise for throughput. With a baseline, `cpuPerRequestAgainstBaseline`: per round, this build's CPU
// per request over the baseline's, per mode. Target: with the log on, >= 0.90 of the throughput
// off (the CPU ratio is the throughput ratio a CPU-bound server shows). `bench/serving-log-alternating.js`
// measures on and off in one server process instead (no process-to-process speed in the ratio), with an
// A/A check and the rows the log dropped.
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { benchCommit, benchKeys, benchOptions, droppedRows, log, logBytes, median, pinnedCpus, withBenchServers } from './lib/server-comparison.js';
import { load } from './serving.js';

const { events, entities, seconds, rounds, port, warmup, processes } = benchOptions({ events: 300_000, entities: 10_000, seconds: 4, rounds: 6, port: 6711, warmup: 3, processes: 1 });
const option = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const baseline = option('baseline') && resolve(option('baseline'));
const counts = (option('counts') ?? '1,100').split(',').map(Number);
const together = process.argv.includes('--together');
const serverCpus = pinnedCpus();
const builds = [...(baseline ? [{ name: 'baseline', checkout: baseline, commit: benchCommit(baseline) }] : []), { name: 'this', checkout: undefined, commit: benchCommit() }];
const rates = [{ name: 'off', rate: '0' }, { name: 'rate1', rate: '1' }, { name: 'rate0.1', rate: '0.1' }];
const ratio = (a, b) => Number((a / b).toFixed(3));
const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values), perRound: values });
const loadAverages = [loadavg().map((l) => Number(l.toFixed(2)))];
await withBenchServers({ prefix: 'sluice-bench-servinglog-', events, entities }, async ({ startServer }) => {
  const modes = builds.flatMap((build) => rates.map((r) => ({
    ...r, build: build.name, name: `${build.name}-${r.name}`,
    processes: Array.from({ length: processes }, (_, p) => ({ name: `${build.name}-${r.name}-${p}` })),
  })));
  // A copy of the project (and its store) per server, so each writes its own log.
  let nextPort = port;
  for (const mode of modes) {
    const build = builds.find((b) => b.name === mode.build);
    for (const server of mode.processes) await startServer(server, { port: nextPort++, args: ['--serving-log-rate', mode.rate], ...(build.checkout ? { checkout: build.checkout } : {}), cpus: serverCpus });
  }
  const results = {};
  for (const count of counts) {
    // One body per load, as bench/serving.js drives it: at 100 entities a 0.1 rate logs about a tenth of
    // the rows; at 1 entity its key is sampled or not, so that figure is either the off or the 1.0 cost.
    const body = { service: 'all', entities: { customer_id: benchKeys(count, 17, entities) } };
    const runs = Object.fromEntries(modes.map((m) => [m.name, []]));
    for (const m of modes) for (const server of m.processes) await load(server.server, server.url, body, 16, warmup);
    const measureProcess = async (round, server) => {
      const before = logBytes(server.dir);
      const droppedBefore = await droppedRows(server);
      const r = await load(server.server, server.url, body, 16, seconds);
      // Rows the log dropped (its buffer full): a log-on figure with drops measured a log that wrote less.
      const droppedRowsPerRequest = Number(((await droppedRows(server) - droppedBefore) / r.requests).toFixed(2));
      log(`${count} entities, round ${round + 1}, ${server.name}: ${r.requestsPerSecond} req/s, ${r.cpuMsPerRequest} ms CPU/request (user ${r.userMsPerRequest}, system ${r.systemMsPerRequest})`);
      return { ...r, logBytesPerSecond: Math.round((logBytes(server.dir) - before) / seconds), droppedRowsPerRequest };
    };
    // A mode's figure in a round: its processes' CPU over their requests, throughput per process.
    const combine = (parts) => {
      const requests = parts.reduce((n, r) => n + r.requests, 0);
      const perRequest = (field, digits) => Number((parts.reduce((n, r) => n + r[field] * r.requests, 0) / requests).toFixed(digits));
      const mean = (field) => Math.round(parts.reduce((n, r) => n + r[field], 0) / parts.length);
      return {
        requests, requestsPerSecond: mean('requestsPerSecond'), droppedRowsPerRequest: Math.max(...parts.map((r) => r.droppedRowsPerRequest)), p99Ms: Math.max(...parts.map((r) => r.p99Ms)), logBytesPerSecond: mean('logBytesPerSecond'),
        cpuMsPerRequest: perRequest('cpuMsPerRequest', 3), userMsPerRequest: perRequest('userMsPerRequest', 4), systemMsPerRequest: perRequest('systemMsPerRequest', 4),
        perProcessCpuMsPerRequest: parts.map((r) => r.cpuMsPerRequest),
      };
    };
    const measure = async (round, m) => {
      const parts = [];
      for (let k = 0; k < m.processes.length; k++) {
        const p = (round + k) % m.processes.length;
        parts[p] = await measureProcess(round, m.processes[p]);
      }
      runs[m.name][round] = combine(parts);
    };
    for (let round = 0; round < rounds; round++) {
      if (together) {
        const parts = await Promise.all(modes.map((m) => Promise.all(m.processes.map((server) => measureProcess(round, server)))));
        modes.forEach((m, i) => (runs[m.name][round] = combine(parts[i])));
      } else {
        for (let b = 0; b < builds.length; b++) {
          const build = builds[(round + b) % builds.length];
          for (let k = 0; k < rates.length; k++) await measure(round, modes.find((x) => x.name === `${build.name}-${rates[(round + k) % rates.length].name}`));
        }
      }
      loadAverages.push(loadavg().map((l) => Number(l.toFixed(2))));
    }
    results[`entities${count}`] = Object.fromEntries(builds.map((build) => {
      const of = (rate) => runs[`${build.name}-${rate}`];
      const summary = Object.fromEntries(rates.map((r) => [r.name, {
        requestsPerSecond: median(of(r.name).map((x) => x.requestsPerSecond)), cpuMsPerRequest: median(of(r.name).map((x) => x.cpuMsPerRequest)),
        userMsPerRequest: median(of(r.name).map((x) => x.userMsPerRequest)), systemMsPerRequest: median(of(r.name).map((x) => x.systemMsPerRequest)),
        p99Ms: median(of(r.name).map((x) => x.p99Ms)), logBytesPerSecond: median(of(r.name).map((x) => x.logBytesPerSecond)),
        droppedRowsPerRequestMax: Math.max(...of(r.name).map((x) => x.droppedRowsPerRequest)),
        // Each process's median CPU per request over the rounds: how far apart processes of the same code are.
        perProcessCpuMsPerRequest: Array.from({ length: processes }, (_, p) => median(of(r.name).map((x) => x.perProcessCpuMsPerRequest[p]))),
      }]));
      const on = ['rate1', 'rate0.1'];
      return [build.name, {
        commit: build.commit, ...summary,
        throughputRatio: Object.fromEntries(on.map((m) => [m, ratio(summary[m].requestsPerSecond, summary.off.requestsPerSecond)])),
        // CPU per request off over on: the throughput ratio a CPU-bound server would show.
        cpuRatio: Object.fromEntries(on.map((m) => [m, ratio(summary.off.cpuMsPerRequest, summary[m].cpuMsPerRequest)])),
        cpuRatioPaired: Object.fromEntries(on.map((m) => [m, spread(of('off').map((r, i) => ratio(r.cpuMsPerRequest, of(m)[i].cpuMsPerRequest)))])),
        // Per round, the mode's throughput over off's in the same round (the target, paired as the CPU ratio is).
        throughputRatioPaired: Object.fromEntries(on.map((m) => [m, spread(of('off').map((r, i) => ratio(of(m)[i].requestsPerSecond, r.requestsPerSecond)))])),
      }];
    }));
    if (baseline) {
      results[`entities${count}`].cpuPerRequestAgainstBaseline = Object.fromEntries(rates.map((r) => [r.name,
        spread(runs[`this-${r.name}`].map((x, i) => ratio(x.cpuMsPerRequest, runs[`baseline-${r.name}`][i].cpuMsPerRequest)))]));
    }
  }
  process.stdout.write(`${JSON.stringify({
    commit: benchCommit(), ...(baseline ? { baseline: builds[0].commit } : {}), at: new Date().toISOString(), loadAverages,
    pinned: serverCpus ? { loadGenerator: '0', servers: serverCpus } : false, together, processesPerMode: processes, events, entities, seconds, rounds, warmup, connections: 16,
    target: 'with the log on >= 0.9x the throughput off', ...results,
  }, null, 2)}\n`);
});
