// What the slow requests of `sluice serve` wait on (issue 5 §10: 100-entity p99). Starts one
// server with bench/outliers/trace-preload.js, sends requests one at a time on one keep-alive
// connection for `--duration` seconds, then lines each request slower than `--slow` ms (and the
// slowest 1%) up with the server's GCs, its timer callbacks and this client's own GCs.
//   taskset -c 0 node bench/serving-outliers.js [--checkout .] [--dir bench/.work] [--entities 100]
//     [--duration 20] [--slow 3] [--port 6981] [--server-cpus 1] [--node-args '...'] [--out FILE]
import http from 'node:http';
import { Buffer } from 'node:buffer';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { option } from './serving.js';

const here = dirname(fileURLToPath(import.meta.url));
const checkout = resolve(option('checkout', join(here, '..')));
const dir = resolve(option('dir', join(here, '.work')));
const entities = Number(option('entities', 100));
const duration = Number(option('duration', 20));
const slowMs = Number(option('slow', 3));
const port = Number(option('port', 6981));
const cpus = option('server-cpus', '1');
const nodeArgs = (option('node-args', '') || '').split(' ').filter(Boolean);
const trace = `/tmp/outliers-${process.pid}.json`;

const command = [process.execPath, ...nodeArgs, '--import', join(here, 'outliers', 'trace-preload.js'), join(checkout, 'bin', 'sluice.js'), 'serve', '--project', dir, '--port', String(port), '--log-level', 'warn'];
const child = spawn('taskset', ['-c', cpus, ...command], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OUTLIER_TRACE: trace } });
await new Promise((ok, fail) => {
  child.stdout.on('data', (chunk) => chunk.toString().includes('serving on') && ok());
  child.once('exit', (code) => fail(new Error(`server exited with ${code}`)));
});

const origin = performance.timeOrigin;
const now = () => origin + performance.now();
const clientGcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) clientGcs.push({ start: origin + e.startTime, ms: e.duration });
}).observe({ entryTypes: ['gc'] });

const keys = Array.from({ length: entities }, (_, i) => `c${String((17 + i * 7919) % 100_000).padStart(7, '0')}`);
const body = JSON.stringify({ service: 'all', entities: { customer_id: keys } });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const send = () => new Promise((ok, fail) => {
  const req = http.request({ host: '127.0.0.1', port, path: '/v1/features/online', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    res.on('data', () => undefined);
    res.on('end', () => (res.statusCode === 200 ? ok() : fail(new Error(`status ${res.statusCode}`))));
  });
  req.on('error', fail);
  req.end(body);
});
for (let i = 0; i < 200; i++) await send();
// CPU ticks per thread of the server (Linux /proc): the main thread's, and the others' (V8's GC and compiler workers, libuv's pool), which share its pinned CPU.
const threadTicks = () => Object.fromEntries(readdirSync(`/proc/${child.pid}/task`).map((tid) => {
  const [name, rest] = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8').split(') ');
  const fields = rest.split(' ');
  return [`${tid} ${name.split(' (')[1]}`, Number(fields[11]) + Number(fields[12])];
}));
const ticksBefore = threadTicks();
const requests = [];
const load1 = loadavg()[0];
const stopAt = now() + duration * 1000;
while (now() < stopAt) {
  const start = now();
  await send();
  requests.push({ start, end: now() });
}
const load2 = loadavg()[0];
const ticksAfter = threadTicks();
const threads = Object.entries(ticksAfter).map(([t, after]) => [t, after - (ticksBefore[t] ?? 0)]).filter(([, d]) => d > 0).sort((a, b) => b[1] - a[1]);
agent.destroy();
child.kill('SIGTERM');
await new Promise((ok) => child.once('exit', ok));
const server = JSON.parse(readFileSync(trace, 'utf8'));
rmSync(trace);

// The server's request records are in arrival order; the last requests.length are the measured ones.
const served = server.requests.slice(-requests.length);
const overlaps = (a, s, e) => a.filter((x) => x.start < e && x.start + x.ms > s);
const latencies = requests.map((r) => r.end - r.start).sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
const p99 = q(0.99);
const threshold = Math.min(slowMs, p99);
const causes = {};
const detail = [];
requests.forEach((r, i) => {
  const ms = r.end - r.start;
  if (ms < threshold) return;
  const s = served[i];
  const gc = overlaps(server.gcs, r.start, r.end);
  const timers = overlaps(server.timers, r.start, r.end);
  const cgc = overlaps(clientGcs, r.start, r.end);
  const preempted = (s.end - s.start) - s.cpuMs > 1 ? 'server-waited-for-cpu' : '';
  const clientSide = (r.end - s.end) + (s.start - r.start) > 1 ? 'client-or-network' : '';
  const cause = [preempted, clientSide, gc.length ? gc.map((g) => g.kind).join('+') : '', timers.length ? 'timer' : '', cgc.length ? 'client-gc' : ''].filter(Boolean).join(',') || 'none';
  causes[cause] = (causes[cause] ?? 0) + 1;
  detail.push({ ms: +ms.toFixed(2), serverMs: +(s.end - s.start).toFixed(2), serverCpuMs: +s.cpuMs.toFixed(2), beforeHandlerMs: +(s.start - r.start).toFixed(2), afterFinishMs: +(r.end - s.end).toFixed(2), gc: gc.map((g) => `${g.kind} ${g.ms.toFixed(2)}`), timers: timers.map((t) => `${t.ms.toFixed(2)} ${t.made}`), clientGc: cgc.map((g) => g.ms.toFixed(2)) });
});
const inWindow = (a) => a.filter((x) => x.start >= requests[0].start && x.start <= requests.at(-1).end);
const gcsIn = inWindow(server.gcs);
const byKind = {};
for (const g of gcsIn) (byKind[g.kind] ??= []).push(g.ms);
const summary = (ms) => { const s = [...ms].sort((a, b) => a - b); return { n: s.length, perThousandRequests: +(1000 * s.length / requests.length).toFixed(1), medianMs: +s[s.length >> 1].toFixed(2), maxMs: +s.at(-1).toFixed(2), totalMs: +s.reduce((a, b) => a + b, 0).toFixed(1) }; };
const serverTimes = served.map((s) => s.end - s.start).sort((a, b) => a - b);
const serverCpu = served.map((s) => s.cpuMs).sort((a, b) => a - b);
// Requests whose server-side CPU was at least the threshold (what a quiet machine's p99 would show), by what ran inside them.
// Scavenges run after a response (V8 schedules them as a task), so the request after one is where their background work (ArrayBuffer sweeping, freeing pages) competes for the pinned CPU.
const scavengeEnds = server.gcs.filter((g) => g.kind === 'scavenge').map((g) => g.start + g.ms);
const justAfterScavenge = (s) => scavengeEnds.some((end) => end <= s.start && s.start - end < 5);
const afterScavenge = { all: served.filter(justAfterScavenge).length, of: served.length };
const cpuSlow = { total: 0, withinFiveMsOfAScavenge: 0, withScavenge: 0, withMarkCompact: 0, withTimer: 0, neither: 0, gcMsInThem: [], cpuMsWithoutGc: [] };
served.forEach((s) => {
  if (s.cpuMs < threshold) return;
  cpuSlow.total++;
  if (justAfterScavenge(s)) cpuSlow.withinFiveMsOfAScavenge++;
  const gc = overlaps(server.gcs, s.start, s.end);
  const timers = overlaps(server.timers, s.start, s.end);
  if (gc.some((g) => g.kind === 'scavenge')) cpuSlow.withScavenge++;
  if (gc.some((g) => g.kind !== 'scavenge')) cpuSlow.withMarkCompact++;
  if (timers.length) cpuSlow.withTimer++;
  if (!gc.length && !timers.length) cpuSlow.neither++;
  const gcMs = gc.reduce((a, g) => a + g.ms, 0);
  cpuSlow.gcMsInThem.push(+gcMs.toFixed(2));
  cpuSlow.cpuMsWithoutGc.push(+(s.cpuMs - gcMs).toFixed(2));
});
cpuSlow.gcMsInThem.sort((a, b) => a - b);
cpuSlow.cpuMsWithoutGc.sort((a, b) => a - b);
const withGc = served.filter((s) => overlaps(server.gcs, s.start, s.end).length > 0).map((s) => s.cpuMs).sort((a, b) => a - b);
const withoutGc = served.filter((s) => overlaps(server.gcs, s.start, s.end).length === 0).map((s) => s.cpuMs).sort((a, b) => a - b);
// The handler's wall time split by the main thread's own scheduler figures: running, runnable but
// waiting for the CPU (preempted: another thread or process on it), and neither (blocked: asleep in
// the event loop, e.g. waiting for another thread); the CPU of the process's other threads in the
// same span; page faults and context switches (whole process). Per group of requests by handler wall.
const mean = (a, f) => (a.length ? +(a.reduce((x, s) => x + f(s), 0) / a.length).toFixed(3) : NaN);
const span = (s) => s.t1 - s.t0;
const split = (group) => ({
  n: group.length,
  wallMs: mean(group, span), runMs: mean(group, (s) => s.runMs), runQueueWaitMs: mean(group, (s) => s.waitMs),
  blockedMs: mean(group, (s) => span(s) - s.runMs - s.waitMs), otherThreadsCpuMs: mean(group, (s) => s.cpuMs - s.runMs),
  slices: mean(group, (s) => s.slices), involuntarySwitches: mean(group, (s) => s.ivcsw), voluntarySwitches: mean(group, (s) => s.vcsw),
  minorFaults: mean(group, (s) => s.minflt), majorFaults: mean(group, (s) => s.majflt),
  withPreemption: group.filter((s) => s.waitMs > 0.05).length, withMinorFaults: group.filter((s) => s.minflt > 0).length,
});
const byWall = [...served].sort((a, b) => span(a) - span(b));
const runQuantiles = (group) => { const r = group.map((s) => s.runMs).sort((a, b) => a - b); return { n: r.length, p50: +(r[r.length >> 1] ?? NaN).toFixed(3), p90: +(r[Math.floor(0.9 * r.length)] ?? NaN).toFixed(3), p99: +(r[Math.floor(0.99 * r.length)] ?? NaN).toFixed(3) }; };
const wallAt = (p) => byWall[Math.min(byWall.length - 1, Math.floor(p * byWall.length))];
const handlerSplit = served[0]?.runMs === undefined ? undefined : {
  middle: split(byWall.slice(Math.floor(0.4 * byWall.length), Math.floor(0.6 * byWall.length))),
  p90to99: split(byWall.slice(Math.floor(0.9 * byWall.length), Math.floor(0.99 * byWall.length))),
  slowest1pct: split(byWall.slice(Math.floor(0.99 * byWall.length))),
  atLeastThreshold: split(served.filter((s) => span(s) >= threshold)),
  p99WallMs: +span(wallAt(0.99)).toFixed(2),
  // The main thread's own run time: its tail without other threads' CPU or waiting in it; then
  // split by whether the thread was preempted inside the request (cold caches after another task
  // ran) and by whether the request took page faults, and by a GC inside.
  runMs: runQuantiles(served),
  runMsNotPreempted: runQuantiles(served.filter((s) => s.ivcsw === 0 && s.waitMs < 0.05)),
  runMsPreempted: runQuantiles(served.filter((s) => s.ivcsw > 0 || s.waitMs >= 0.05)),
  runMsNoFaults: runQuantiles(served.filter((s) => s.minflt === 0)),
  runMsFaults: runQuantiles(served.filter((s) => s.minflt > 0)),
  runMsFaultsOver50: runQuantiles(served.filter((s) => s.minflt > 50)),
  runMsNoGcQuiet: runQuantiles(served.filter((s) => s.ivcsw === 0 && s.waitMs < 0.05 && s.minflt === 0 && overlaps(server.gcs, s.t0, s.t1).length === 0)),
  slowestByRun: [...served].sort((a, b) => b.runMs - a.runMs).slice(0, 8).map((s) => ({ wallMs: +span(s).toFixed(2), runMs: +s.runMs.toFixed(2), waitMs: +s.waitMs.toFixed(2), cpuMs: +s.cpuMs.toFixed(2), minflt: s.minflt, ivcsw: s.ivcsw, vcsw: s.vcsw, gc: overlaps(server.gcs, s.start, s.end).map((g) => `${g.kind} ${g.ms.toFixed(2)}`) })),
};
const pick = (a, p) => +(a[Math.min(a.length - 1, Math.floor(p * a.length))] ?? NaN).toFixed(2);
const result = {
  checkout, entities, duration, requests: requests.length, load1: [load1, load2],
  latencyMs: { p50: +q(0.5).toFixed(2), p90: +q(0.9).toFixed(2), p99: +p99.toFixed(2), p999: +q(0.999).toFixed(2), max: +latencies.at(-1).toFixed(2) },
  serverHandlerMs: { p50: +serverTimes[serverTimes.length >> 1].toFixed(2), p99: +serverTimes[Math.floor(0.99 * serverTimes.length)].toFixed(2) },
  serverHandlerCpuMs: { p50: +serverCpu[serverCpu.length >> 1].toFixed(2), p90: +serverCpu[Math.floor(0.9 * serverCpu.length)].toFixed(2), p99: +serverCpu[Math.floor(0.99 * serverCpu.length)].toFixed(2), p999: +serverCpu[Math.floor(0.999 * serverCpu.length)].toFixed(2) },
  cpuSlow, handlerCpuWithGc: { n: withGc.length, p50: pick(withGc, 0.5), p90: pick(withGc, 0.9) }, handlerCpuWithoutGc: { n: withoutGc.length, p50: pick(withoutGc, 0.5), p99: pick(withoutGc, 0.99), p999: pick(withoutGc, 0.999) },
  afterScavenge, handlerSplit,
  threadCpuTicks: Object.fromEntries(threads),
  slowThresholdMs: +threshold.toFixed(2), slow: detail.length, causes,
  serverGcs: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, summary(v)])),
  serverTimers: inWindow(server.timers).length, timerTotalMs: +inWindow(server.timers).reduce((a, t) => a + t.ms, 0).toFixed(1),
  clientGcs: inWindow(clientGcs).length,
  slowest: detail.sort((a, b) => b.ms - a.ms).slice(0, 12),
};
console.log(JSON.stringify(result, null, 1));
const out = option('out', undefined);
if (out) writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
// OUTLIER_DEBUG=1: where the first GCs fell relative to their request (this is how scavenges were seen to run after the response).
if (process.env.OUTLIER_DEBUG) {
  for (const g of gcsIn.slice(0, 8)) {
    const i = requests.findIndex((r) => r.end > g.start);
    const s = served[i], r = requests[i];
    console.log(`gc at ${(g.start - r.start).toFixed(2)} for ${g.ms.toFixed(2)} ms; client 0..${(r.end - r.start).toFixed(2)}; server ${(s.start - r.start).toFixed(2)}..${(s.end - r.start).toFixed(2)}`);
  }
}
