// Loaded with `node --import` into `sluice serve` by bench/serving-outliers.js (diagnosis only):
// records, in epoch milliseconds, every GC (kind, start, duration), every timer callback longer
// than 0.05 ms (where the timer was made), and each request's handler entry, response finish and
// the process's CPU time between them (process.cpuUsage, about 1 µs a call).
// Written to $OUTLIER_TRACE on SIGTERM.
import http from 'node:http';
import process from 'node:process';
import { writeFileSync } from 'node:fs';
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

const createServer = http.createServer;
http.createServer = function (...args) {
  const server = createServer.apply(this, args);
  const emit = server.emit;
  server.emit = function (event, req, res) {
    if (event === 'request') {
      const cpu = process.cpuUsage();
      const record = { start: now(), end: 0, cpuMs: 0 };
      requests.push(record);
      res.once('finish', () => {
        record.end = now();
        const used = process.cpuUsage(cpu);
        record.cpuMs = (used.user + used.system) / 1000;
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
