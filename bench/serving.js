// Online serving under load: `sluice serve` and a bare fastify route over the same LMDB store,
// each in its own process, driven by autocannon from this process.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));

/** The value after `--name` on the command line, or `fallback`. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`, 2);
  return i < 0 ? fallback : process.argv[i + 1];
}

/** The two checkouts an A/B compares (`--a`, `--b`: directories with `bin/sluice.js` and a built `dist/`; default this one) and the store (`--dir`). */
export function abCheckouts() {
  return { checkouts: { A: resolve(option('a', join(here, '..'))), B: resolve(option('b', join(here, '..'))) }, dir: resolve(option('dir', join(here, '.work'))) };
}

/**
 * Starts a node process with `argv`, resolved once its stdout says `ready`. `cpus` (a `taskset`
 * CPU list, e.g. `'1'`) pins it, so that a load generator pinned elsewhere does not share its CPU.
 */
export async function startChild(argv, ready, { cpus } = {}) {
  // BENCH_CPU_PROF=DIR: each server writes a V8 CPU profile into DIR when it exits.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const command = [process.execPath, ...profile, ...argv];
  // taskset execs the command: the child's pid is the server's (its CPU time is read from /proc).
  const child = cpus === undefined ? spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn('taskset', ['-c', cpus, ...command], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolveReady, reject) => {
    child.stdout.on('data', (chunk) => chunk.toString().includes(ready) && resolveReady());
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`)));
  });
  return child;
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** User and system CPU seconds a process has used so far (Linux: /proc). */
export function cpuTimes(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / ticksPerSecond, system: Number(fields[12]) / ticksPerSecond };
}

/**
 * Drives `server` with autocannon. Besides throughput and latency, the server's CPU time per
 * request: on 2 cores shared with the load generator (and, here, other work), it moves less with
 * the machine's load than throughput does.
 */
export async function load(server, url, body, connections, duration, headers = {}) {
  const before = cpuTimes(server.pid);
  const result = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), connections, duration });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const after = cpuTimes(server.pid);
  const perRequest = (seconds) => Number(((seconds * 1000) / result.requests.total).toFixed(4));
  const cpuMsPerRequest = Number(perRequest(after.user + after.system - before.user - before.system).toFixed(3));
  return {
    requests: result.requests.total, requestsPerSecond: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99, maxMs: result.latency.max, cpuMsPerRequest,
    userMsPerRequest: perRequest(after.user - before.user), systemMsPerRequest: perRequest(after.system - before.system),
  };
}

export async function benchServing({ dir, entities, duration, features, log = (l) => process.stderr.write(`${l}\n`) }) {
  const sluicePort = 6701;
  const barePort = 6702;
  const server = await startChild([join(here, '..', 'bin', 'sluice.js'), 'serve', '--project', dir, '--port', String(sluicePort), '--log-level', 'warn'], 'serving on');
  const bare = await startChild([join(here, 'bare-server.js'), join(dir, '.sluice', 'online'), String(barePort), 'txn', 'profile'], 'ready');
  const keys = (n, offset) => Array.from({ length: n }, (_, i) => `c${String((offset + i * 7919) % entities).padStart(7, '0')}`);
  const results = { features, loadGenerator: 'autocannon in a second process; servers in their own processes', durationSeconds: duration };
  try {
    for (const count of [1, 100]) {
      const body = { service: 'all', entities: { customer_id: keys(count, 17) } };
      log(`serving: ${count} entities per request...`);
      const sluiceUrl = `http://127.0.0.1:${sluicePort}/v1/features/online`;
      const bareUrl = `http://127.0.0.1:${barePort}/bare`;
      await load(server, sluiceUrl, body, 4, 2);
      await load(bare, bareUrl, body, 4, 2);
      const latency = await load(server, sluiceUrl, body, 1, duration);
      const bareLatency = await load(bare, bareUrl, body, 1, duration);
      const sluiceLoad = await load(server, sluiceUrl, body, 16, duration);
      const bareLoad = await load(bare, bareUrl, body, 16, duration);
      results[`entities${count}`] = {
        sluice: { oneConnection: latency, sixteenConnections: sluiceLoad },
        bareRoute: { oneConnection: bareLatency, sixteenConnections: bareLoad },
        throughputRatioToBare: Number((sluiceLoad.requestsPerSecond / bareLoad.requestsPerSecond).toFixed(3)),
        // Bare CPU per request over Sluice's, 16 connections: the throughput ratio a CPU-bound server would show.
        cpuRatioToBare: Number((bareLoad.cpuMsPerRequest / sluiceLoad.cpuMsPerRequest).toFixed(3)),
      };
    }
  } finally {
    server.kill('SIGTERM');
    bare.kill('SIGTERM');
  }
  results.targets = 'p99 <= 2 ms at 1 entity and <= 3 ms at 100 entities (1 connection); >= 0.8x the bare route throughput at 1 and at 100 entities';
  return results;
}
