// Loaded with `node --import` into `sluice serve` by bench/serving-outliers.js (diagnosis only):
// records, in epoch milliseconds, every GC (kind, start, duration), every timer callback longer
// than 0.05 ms (where the timer was made), and each request's handler entry, response finish and
// the process's CPU time between them (process.cpuUsage, about 1 µs a call). Per request also the
// main thread's own run and run-queue wait time and time slices (/proc/thread-self/schedstat, ns;
// a read costs ~10 µs, outside the measured span's CPU split since both ends pay it), and the
// process's page faults and context switches (process.resourceUsage, getrusage: all threads).
// Written to $OUTLIER_TRACE on SIGTERM.
import http from 'node:http';
import process from 'node:process';
import { readFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, performance, constants } from 'node:perf_hooks';

const origin = performance.timeOrigin;
const now = () => origin + performance.now();
const gcs = [];
const timers = [];
const requests = [];
const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ start: origin + e.startTime, ms: e.duration, kind: kinds[e.detail?.kind] ?? String(e.detail?.kind) });
}).observe({ entryTypes: ['gc'] });

const where = () => (new Error().stack ?? '').split('\n').slice(3, 6).map((l) => l.trim().replace(/^at /, '')).join(' < ');
for (const name of ['setInterval', 'setTimeout', 'setImmediate']) {
  const original = globalThis[name];
  globalThis[name] = function (callback, ...rest) {
    if (typeof callback !== 'function') return original.call(this, callback, ...rest);
    const made = where();
    const wrapped = function (...a) {
      const t0 = now();
      try { return callback.apply(this, a); } finally {
        const t1 = now();
        if (t1 - t0 > 0.05) timers.push({ start: t0, ms: t1 - t0, name, made });
      }
    };
    return original.call(this, wrapped, ...rest);
  };
}

// [run ns, run-queue wait ns, time slices] of the calling (main) thread.
const schedstat = () => readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ').map(Number);
const usage = () => { const u = process.resourceUsage(); return [u.minorPageFault, u.majorPageFault, u.voluntaryContextSwitches, u.involuntaryContextSwitches]; };
const createServer = http.createServer;
http.createServer = function (...args) {
  const server = createServer.apply(this, args);
  const emit = server.emit;
  server.emit = function (event, req, res) {
    if (event === 'request') {
      // t0..t1 spans the scheduler reads too, so wall and run time cover the same work.
      const t0 = now();
      const sched = schedstat();
      const rusage = usage();
      const cpu = process.cpuUsage();
      const record = { start: now(), end: 0, cpuMs: 0, t0, t1: 0, runMs: 0, waitMs: 0, slices: 0, minflt: 0, majflt: 0, vcsw: 0, ivcsw: 0 };
      requests.push(record);
      res.once('finish', () => {
        record.end = now();
        const used = process.cpuUsage(cpu);
        record.cpuMs = (used.user + used.system) / 1000;
        const [run, wait, slices] = schedstat();
        record.runMs = (run - sched[0]) / 1e6;
        record.waitMs = (wait - sched[1]) / 1e6;
        record.slices = slices - sched[2];
        const after = usage();
        [record.minflt, record.majflt, record.vcsw, record.ivcsw] = after.map((x, i) => x - rusage[i]);
        record.t1 = now();
      });
    }
    return emit.apply(this, arguments);
  };
  return server;
};

process.once('SIGTERM', () => {
  writeFileSync(process.env.OUTLIER_TRACE, JSON.stringify({ gcs, timers, requests }));
  process.exit(0);
});
