// `node bench/serving-log-alternating.js` (after `npm run build`): serving throughput with the serving
// log on (every row logged) against off, **in the same server process**, alternating every
// `--seconds`. The project has two feature services with the same features: `all` (no log) and
// `lgd` (`log: { sampleRate: 1 }`); the server runs without `--serving-log-rate`, so requests to
// `all` are not logged and requests to `lgd` are, whole rows, as the "log on" (issue 8 §7).
// Same process, same store, same keys, same answers (but the service's name in the request): the
// speed of a process of its own (5 to 35% apart between processes of the same code on this machine,
// see `bench/serving-log.js`) is out of the ratio, and the alternation is short, so both modes see
// nearly the same moments of a shared machine.
// A third service, `nul`, the same features again without a log, is measured in every round too:
// nul/off is what the bench reads when nothing differs (an A/A check), beside on/off.
// Per round, the three modes one after the other (each of the six orders in turn), each `--seconds` of autocannon (16
// connections) and then `--gap` ms idle, during which the log's 250 ms timer appends what the
// phase buffered: a phase's CPU (server process, /proc, user and system) is read from its start to
// the end of its gap, so the on phase's last append is its own, never the next off phase's.
// Pinning: the load generator (this process) on CPU 0, every server on CPU 1 (`taskset`).
// Options: --seconds S (2)  --rounds N (16)  --gap MS (400)  --warmup S (3)  --counts 100,1
//   --processes N (1: server processes, each measured alternating on its own, in turn per round)
//   --baseline CHECKOUT (another build, e.g. main, a server of its own, measured the same way and
//   interleaved round by round)  --events N (300_000)  --entities N (10_000)  --port N (6721)
// Reports per build and count: per round the paired ratios on/off and nul/off (throughput, CPU per
// request), their median, a 95% bootstrap interval of the median, interquartile range and range, over
// all processes' rounds; bytes logged per request;
// the commits measured; load averages. Target: throughput with the log on >= 0.90 of off.
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { BENCH_CONFIG } from './bench-project.js';
import { benchCommit, benchKeys, benchOptions, droppedRows, log, logBytes, median, pinnedCpus, withBenchServers } from './lib/server-comparison.js';
import { cpuTimes } from './serving.js';

const { events, entities, seconds, rounds, gap, warmup, port, processes } = benchOptions({ events: 300_000, entities: 10_000, seconds: 2, rounds: 16, gap: 400, warmup: 3, port: 6721, processes: 1 });
const option = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const baseline = option('baseline') && resolve(option('baseline'));
const counts = (option('counts') ?? '100,1').split(',').map(Number);
const serverCpus = pinnedCpus();
const builds = [...(baseline ? [{ name: 'baseline', checkout: baseline, commit: benchCommit(baseline) }] : []), { name: 'this', checkout: undefined, commit: benchCommit() }];
const SERVICES = `featureServices: [featureService({ name: 'all', features: [txnStats, profile] })]`;
if (!BENCH_CONFIG.includes(SERVICES)) throw new Error('bench/bench-project.js changed: its feature services are not where this bench adds the logged one');
const config = BENCH_CONFIG.replace(SERVICES, `featureServices: [featureService({ name: 'all', features: [txnStats, profile] }),
    featureService({ name: 'lgd', features: [txnStats, profile], log: { sampleRate: 1 } }),
    featureService({ name: 'nul', features: [txnStats, profile] })]`);
// `nul`, a third service without a log, is measured as a mode of its own: nul/off is the A/A check of
// the bench (its bias and spread), in the same rounds as on/off.
const modes = [{ name: 'off', service: 'all' }, { name: 'nul', service: 'nul' }, { name: 'on', service: 'lgd' }];
/** The modes' order in a round: each of the 6 orders in turn, so that no mode is always first or last. */
const orders = [[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 2, 1], [2, 0, 1], [1, 0, 2]].map((o) => o.map((i) => modes[i]));

/** One phase: `seconds` of load on one service, then the gap; CPU over both, requests over the load. */
async function phase(server, body, duration) {
  const droppedBefore = await droppedRows(server);
  const before = cpuTimes(server.server.pid);
  const bytesBefore = logBytes(server.dir);
  const result = await autocannon({ url: server.url, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), connections: 16, duration });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  await sleep(gap);
  const after = cpuTimes(server.server.pid);
  const dropped = await droppedRows(server);
  const requests = result.requests.total;
  const perRequest = (s) => (s * 1000) / requests;
  return {
    requests, requestsPerSecond: requests / duration, p99Ms: result.latency.p99,
    cpuMsPerRequest: perRequest(after.user + after.system - before.user - before.system),
    userMsPerRequest: perRequest(after.user - before.user), systemMsPerRequest: perRequest(after.system - before.system),
    logBytesPerRequest: (logBytes(server.dir) - bytesBefore) / requests,
    droppedRowsPerRequest: (dropped - droppedBefore) / requests,
  };
}

const round3 = (x) => Number(x.toFixed(3));
const quantile = (sorted, q) => {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
};
/** A 95% bootstrap interval of the median (percentile method, 2,000 resamples, seeded: reproducible). */
const medianInterval = (values) => {
  let seed = 0x2545f491;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const medians = Array.from({ length: 2000 }, () => median(values.map(() => values[Math.floor(random() * values.length)]))).sort((a, b) => a - b);
  return [round3(quantile(medians, 0.025)), round3(quantile(medians, 0.975))];
};
const spread = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return { median: round3(median(s)), medianInterval95: medianInterval(values), iqr: [round3(quantile(s, 0.25)), round3(quantile(s, 0.75))], min: round3(s[0]), max: round3(s.at(-1)), perRound: values.map(round3) };
};

const loadAverages = [loadavg().map((l) => Number(l.toFixed(2)))];
await withBenchServers({ prefix: 'sluice-bench-servinglog-alt-', events, entities, config }, async ({ startServer }) => {
  const servers = [];
  let nextPort = port;
  for (const build of builds) {
    for (let p = 0; p < processes; p++) {
      const server = { name: `${build.name}-${p}`, build: build.name };
      await startServer(server, { port: nextPort++, ...(build.checkout ? { checkout: build.checkout } : {}), cpus: serverCpus });
      servers.push(server);
    }
  }
  const results = {};
  for (const count of counts) {
    const keys = benchKeys(count, 17, entities);
    const bodies = Object.fromEntries(modes.map((m) => [m.name, { service: m.service, entities: { customer_id: keys } }]));
    for (const server of servers) for (const m of modes) await phase(server, bodies[m.name], warmup);
    const runs = Object.fromEntries(servers.map((s) => [s.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < servers.length; k++) {
        const server = servers[(round + k) % servers.length];
        const measured = {};
        for (const m of orders[round % orders.length]) measured[m.name] = await phase(server, bodies[m.name], seconds);
        runs[server.name].push(measured);
        const said = (m) => `${m} ${Math.round(measured[m].requestsPerSecond)} req/s ${measured[m].cpuMsPerRequest.toFixed(3)} ms CPU`;
        log(`${count} entities, round ${round + 1}, ${server.name}: ${said('off')}; ${said('nul')}; ${said('on')}, ${Math.round(measured.on.logBytesPerRequest)} B logged and ${measured.on.droppedRowsPerRequest.toFixed(1)} rows dropped per request`);
      }
      loadAverages.push(loadavg().map((l) => Number(l.toFixed(2))));
    }
    results[`entities${count}`] = Object.fromEntries(builds.map((build) => {
      const pairs = servers.filter((s) => s.build === build.name).flatMap((s) => runs[s.name]);
      const of = (mode, field) => pairs.map((p) => p[mode][field]);
      return [build.name, {
        commit: build.commit,
        throughputRatioPaired: spread(pairs.map((p) => p.on.requestsPerSecond / p.off.requestsPerSecond)),
        // CPU per request off over on: the throughput ratio a CPU-bound server would show.
        cpuRatioPaired: spread(pairs.map((p) => p.off.cpuMsPerRequest / p.on.cpuMsPerRequest)),
        nullThroughputRatioPaired: spread(pairs.map((p) => p.nul.requestsPerSecond / p.off.requestsPerSecond)),
        nullCpuRatioPaired: spread(pairs.map((p) => p.off.cpuMsPerRequest / p.nul.cpuMsPerRequest)),
        addedCpuMsPerRequest: spread(pairs.map((p) => p.on.cpuMsPerRequest - p.off.cpuMsPerRequest)),
        addedUserMsPerRequest: spread(pairs.map((p) => p.on.userMsPerRequest - p.off.userMsPerRequest)),
        addedSystemMsPerRequest: spread(pairs.map((p) => p.on.systemMsPerRequest - p.off.systemMsPerRequest)),
        ...Object.fromEntries(modes.map((m) => [m.name, {
          requestsPerSecond: Math.round(median(of(m.name, 'requestsPerSecond'))), cpuMsPerRequest: round3(median(of(m.name, 'cpuMsPerRequest'))),
          p99Ms: median(of(m.name, 'p99Ms')), logBytesPerRequest: Math.round(median(of(m.name, 'logBytesPerRequest'))),
          // Rows the log dropped (its buffer full): a log-on figure counts only if this is 0.
          droppedRowsPerRequest: round3(of(m.name, 'droppedRowsPerRequest').reduce((a, b) => a + b, 0) / pairs.length),
        }])),
      }];
    }));
  }
  process.stdout.write(`${JSON.stringify({
    commit: benchCommit(), ...(baseline ? { baseline: builds[0].commit } : {}), at: new Date().toISOString(), loadAverages,
    pinned: serverCpus ? { loadGenerator: '0', servers: serverCpus } : false, processesPerBuild: processes, events, entities, seconds, gapMs: gap, rounds, warmup, connections: 16,
    design: 'one server process per build serves both modes (service all: no log; service lgd: log rate 1.0), alternating',
    target: 'with the log on >= 0.9x the throughput off', ...results,
  }, null, 2)}\n`);
});
