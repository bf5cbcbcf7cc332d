// `node bench/serving-log-alternating.js` (after `npm run build`): serving with the serving log on
// (every row logged) against off, **in the same server process**, alternating every `--seconds`. The
// project has feature services with the same features: `all` (no log), `nul` (no log again: nul/off is
// what the bench reads when nothing differs, an A/A check), `lgd` (`log: { sampleRate: 1 }`) and, with
// `--modes off,nul,on,on2`, `lg2` (logged again: on2/on is a second A/A check, of two logged services).
// The server runs without `--serving-log-rate`, so only the logged services' requests are logged, whole
// rows, as the "log on" (issue 8 §7). Same process, store, keys and answers (but the service's
// name in the request): a process's own speed (5 to 35% apart between processes of the same code on
// this machine, see `bench/serving-log.js`) is out of the ratio.
// Per round the modes run one after the other in the orders of a balanced Latin square (each mode in
// each place and after each other mode equally often: give `--rounds` a multiple of the orders' count,
// 6 for 3 modes, 4 for 4), each phase `--phase-warmup` ms of unmeasured load, then the measured load,
// then `--gap` ms idle in which the log's 250 ms timer appends what the phase buffered; a phase's CPU
// runs from the start of its measured load to the end of its gap.
// Load: `--rate 0` (default) saturates (autocannon, 16 connections, `--seconds`); `--rate R` sends
// R requests a second in all (autocannon `overallRate`), R x `--seconds` requests per phase, so the
// load generator does the same work in every mode and the server's CPU per request is the figure
// (choose R below what the log-on server can answer; autocannon's pacing reached 224 a second for
// R = 300 on this machine: the rate reached is what `requestsPerSecond` reports).
// CPU is read twice: /proc/<pid>/stat (user, system; 10 ms ticks) and the sum of every thread's
// /proc/<pid>/task/*/schedstat (run time and run-queue wait, ns). Per phase also: this process's CPU
// (the load generator), the steal time of both CPUs (/proc/stat).
// Pinning: the load generator (this process) on CPU 0, every server on CPU 1 (`taskset`).
// Options: --seconds S (2)  --rounds N (12)  --gap MS (400)  --warmup S (3)  --phase-warmup MS (300)
//   --rate R (0)  --counts 100,1  --modes off,nul,on  --processes N (1: server processes, each measured
//   alternating on its own, in turn per round)  --baseline CHECKOUT (another build, e.g. main, a server
//   of its own, interleaved round by round)  --events N (300_000)  --entities N (10_000)  --port N (6721)
// Reports per build and count: per round the paired ratios on/off, nul/off, on2/on (throughput and CPU
// per request off/on, by both CPU readings), their median, a 95% bootstrap interval of the median,
// interquartile range and range; bytes logged and rows dropped per request; the commits; load averages.
// Target: throughput with the log on >= 0.90 of off.
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { BENCH_CONFIG } from './bench-project.js';
import { balancedOrders, round3, spread } from './lib/paired-spread.js';
import { benchCommit, benchKeys, benchOptions, droppedRows, log, logBytes, median, pinnedCpus, withBenchServers } from './lib/server-comparison.js';
import { cpuTimes } from './serving.js';

const { events, entities, seconds, rounds, gap, warmup, port, processes, rate, ...more } = benchOptions({ events: 300_000, entities: 10_000, seconds: 2, rounds: 12, gap: 400, warmup: 3, port: 6721, processes: 1, rate: 0, 'phase-warmup': 300 });
const phaseWarmup = more['phase-warmup'];
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
    featureService({ name: 'nul', features: [txnStats, profile] }),
    featureService({ name: 'lg2', features: [txnStats, profile], log: { sampleRate: 1 } })]`);
const SERVICE_OF = { off: 'all', nul: 'nul', on: 'lgd', on2: 'lg2' };
const modes = (option('modes') ?? 'off,nul,on').split(',').map((name) => {
  if (!(name in SERVICE_OF)) throw new Error(`--modes: "${name}" is not one of ${Object.keys(SERVICE_OF).join(', ')}`);
  return { name, service: SERVICE_OF[name] };
});
if (!modes.some((m) => m.name === 'off') || !modes.some((m) => m.name === 'on')) throw new Error('--modes needs off and on');
const orders = balancedOrders(modes.length).map((o) => o.map((i) => modes[i]));
if (rounds % orders.length !== 0) log(`note: --rounds ${rounds} is not a multiple of ${orders.length}: the orders are not balanced`);

/** Run time and run-queue wait (seconds) of every thread of `pid` alive now. */
function threadTimes(pid) {
  let run = 0;
  let wait = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [r, w] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ');
      run += Number(r) / 1e9;
      wait += Number(w) / 1e9;
    } catch { /* the thread ended */ }
  }
  return { run, wait };
}
const TICKS = 100;
/** Steal ticks (seconds) of each CPU from /proc/stat. */
const steal = () => Object.fromEntries(readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).map((l) => {
  const f = l.split(/\s+/);
  return [f[0], Number(f[8]) / TICKS];
}));

/** Load on one service: saturating for `duration` s, or `--rate` requests a second, `duration` x rate in all. */
async function load(server, body, duration) {
  const paced = rate > 0 ? { overallRate: rate, amount: Math.round(rate * duration) } : { duration };
  const started = performance.now();
  const result = await autocannon({ url: server.url, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), connections: 16, ...paced });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) throw new Error(`${server.url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  return { result, wall: (performance.now() - started) / 1000 };
}

/** One phase: the unmeasured warm-up, the measured load, then the gap; CPU over load and gap, requests over the load. */
async function phase(server, body, duration) {
  if (phaseWarmup > 0) await load(server, body, phaseWarmup / 1000);
  const droppedBefore = await droppedRows(server);
  const bytesBefore = logBytes(server.dir);
  const [before, threadsBefore, stealBefore, generatorBefore] = [cpuTimes(server.server.pid), threadTimes(server.server.pid), steal(), process.cpuUsage()];
  const { result, wall } = await load(server, body, duration);
  await sleep(gap);
  const [after, threadsAfter, stealAfter, generator] = [cpuTimes(server.server.pid), threadTimes(server.server.pid), steal(), process.cpuUsage(generatorBefore)];
  const dropped = await droppedRows(server);
  const requests = result.requests.total;
  if (rate > 0 && requests < Math.round(rate * duration)) throw new Error(`${server.url}: ${requests} requests of ${Math.round(rate * duration)}`);
  const perRequest = (s) => (s * 1000) / requests;
  return {
    requests, requestsPerSecond: requests / wall, p99Ms: result.latency.p99,
    cpuMsPerRequest: perRequest(after.user + after.system - before.user - before.system),
    userMsPerRequest: perRequest(after.user - before.user), systemMsPerRequest: perRequest(after.system - before.system),
    runMsPerRequest: perRequest(threadsAfter.run - threadsBefore.run), waitMsPerRequest: perRequest(threadsAfter.wait - threadsBefore.wait),
    generatorMsPerRequest: perRequest((generator.user + generator.system) / 1e6),
    stealSeconds: Object.fromEntries(Object.keys(stealAfter).map((cpu) => [cpu, round3(stealAfter[cpu] - (stealBefore[cpu] ?? 0))])),
    logBytesPerRequest: (logBytes(server.dir) - bytesBefore) / requests,
    droppedRowsPerRequest: (dropped - droppedBefore) / requests,
  };
}

/** Paired per-round ratios of one mode against another: throughput a/b, CPU per request b/a (both readings). */
const ratios = (pairs, a, b) => ({
  throughput: spread(pairs.map((p) => p[a].requestsPerSecond / p[b].requestsPerSecond)),
  cpu: spread(pairs.map((p) => p[b].cpuMsPerRequest / p[a].cpuMsPerRequest)),
  run: spread(pairs.map((p) => p[b].runMsPerRequest / p[a].runMsPerRequest)),
});

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
        const order = orders[round % orders.length];
        const measured = {};
        for (const m of order) measured[m.name] = await phase(server, bodies[m.name], seconds);
        runs[server.name].push(measured);
        const said = (m) => `${m} ${Math.round(measured[m].requestsPerSecond)} req/s ${measured[m].cpuMsPerRequest.toFixed(3)} ms CPU (run ${measured[m].runMsPerRequest.toFixed(3)}, wait ${measured[m].waitMsPerRequest.toFixed(3)}, generator ${measured[m].generatorMsPerRequest.toFixed(3)}, steal ${Object.values(measured[m].stealSeconds).join('/')} s)`;
        log(`${count} entities, round ${round + 1}, ${server.name}, order ${order.map((m) => m.name).join(' ')}: ${modes.map((m) => said(m.name)).join('; ')}; ${Math.round(measured.on.logBytesPerRequest)} B logged and ${measured.on.droppedRowsPerRequest.toFixed(1)} rows dropped per request`);
      }
      loadAverages.push(loadavg().map((l) => Number(l.toFixed(2))));
    }
    results[`entities${count}`] = Object.fromEntries(builds.map((build) => {
      const pairs = servers.filter((s) => s.build === build.name).flatMap((s) => runs[s.name]);
      const of = (mode, field) => pairs.map((p) => p[mode][field]);
      const has = (name) => modes.some((m) => m.name === name);
      return [build.name, {
        commit: build.commit,
        onOff: ratios(pairs, 'on', 'off'),
        ...(has('nul') ? { nulOff: ratios(pairs, 'nul', 'off'), onNul: ratios(pairs, 'on', 'nul') } : {}),
        ...(has('on2') ? { on2On: ratios(pairs, 'on2', 'on') } : {}),
        addedCpuMsPerRequest: spread(pairs.map((p) => p.on.cpuMsPerRequest - p.off.cpuMsPerRequest)),
        addedRunMsPerRequest: spread(pairs.map((p) => p.on.runMsPerRequest - p.off.runMsPerRequest)),
        addedSystemMsPerRequest: spread(pairs.map((p) => p.on.systemMsPerRequest - p.off.systemMsPerRequest)),
        ...Object.fromEntries(modes.map((m) => [m.name, {
          requestsPerSecond: Math.round(median(of(m.name, 'requestsPerSecond'))), cpuMsPerRequest: round3(median(of(m.name, 'cpuMsPerRequest'))),
          runMsPerRequest: round3(median(of(m.name, 'runMsPerRequest'))), waitMsPerRequest: round3(median(of(m.name, 'waitMsPerRequest'))),
          generatorMsPerRequest: round3(median(of(m.name, 'generatorMsPerRequest'))),
          p99Ms: median(of(m.name, 'p99Ms')), logBytesPerRequest: Math.round(median(of(m.name, 'logBytesPerRequest'))),
          // Rows the log dropped (its buffer full): a log-on figure counts only if this is 0.
          droppedRowsPerRequest: round3(of(m.name, 'droppedRowsPerRequest').reduce((a, b) => a + b, 0) / pairs.length),
        }])),
      }];
    }));
  }
  process.stdout.write(`${JSON.stringify({
    commit: benchCommit(), ...(baseline ? { baseline: builds[0].commit } : {}), at: new Date().toISOString(), loadAverages,
    pinned: serverCpus ? { loadGenerator: '0', servers: serverCpus } : false, processesPerBuild: processes, events, entities, seconds, gapMs: gap, rounds, warmup,
    phaseWarmupMs: phaseWarmup, rate: rate > 0 ? rate : 'saturating', connections: 16, modes: modes.map((m) => m.name), orders: orders.map((o) => o.map((m) => m.name)),
    design: 'one server process per build serves every mode (all, nul: no log; lgd, lg2: log rate 1.0), alternating in balanced orders',
    target: 'with the log on >= 0.9x the throughput off', ...results,
  }, null, 2)}\n`);
});
