// What a 100-entity online request allocates and how often it makes V8 collect, in process (no
// HTTP): `getOnlineFeatures` then `answerBytes` (what the route does for a large answer), over
// the store in DIR, for builds A and B alternating round by round in fresh child processes.
//   node bench/serving-allocation.js --a CHECKOUT_A --b CHECKOUT_B [--dir DATA (bench/.work)]
//     [--entities 100] [--requests 3000] [--rounds 4] [--cpus 1] [--out FILE] [--node-args '...'] [--a-node-args '...'] [--b-node-args '...']
// Per child: CPU ms per request (user + system, no instrumentation), scavenges and mark-sweeps
// per 1,000 requests with their pause times (PerformanceObserver 'gc'), then bytes allocated per
// request (the heap's used size before and after each request, requests that saw a GC left out).
// `--cpus` pins the children (taskset). Read-only on DIR's store.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';

import { option as opt } from './serving.js';
import { keySetBodies, openCheckoutRequest } from './lib/checkout-request.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = resolve(opt('dir', join(here, '.work')));
const count = Number(opt('entities', 100));
const requests = Number(opt('requests', 3000));

if (opt('child', undefined) !== undefined) {
  process.stdout.write(`${JSON.stringify(await child(resolve(opt('child'))))}\n`);
  process.exit(0);
}

const checkouts = { A: resolve(opt('a')), B: resolve(opt('b')) };
const rounds = Number(opt('rounds', 4));
const cpus = opt('cpus', '1');
const words = (text) => (text || '').split(' ').filter(Boolean);
// Node options for both children, and for one side only (e.g. a GC setting against none).
const nodeArgs = { A: [...words(opt('node-args')), ...words(opt('a-node-args'))], B: [...words(opt('node-args')), ...words(opt('b-node-args'))] };
const runs = { A: [], B: [] };
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
    const argv = ['-c', cpus, process.execPath, ...nodeArgs[name], fileURLToPath(import.meta.url), '--child', checkouts[name], '--dir', dir, '--entities', String(count), '--requests', String(requests)];
    const run = JSON.parse(execFileSync('taskset', argv, { encoding: 'utf8' }));
    run.load = loadavg()[0];
    runs[name].push(run);
    process.stderr.write(`${round} ${name} ${JSON.stringify(run)}\n`);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs) => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`;
const commit = (checkout) => execFileSync('git', ['-C', checkout, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
const result = { command: process.argv.slice(1).join(' '), at: new Date().toISOString(), entities: count, requests, nodeArgs, a: { checkout: checkouts.A, commit: commit(checkouts.A), runs: runs.A }, b: { checkout: checkouts.B, commit: commit(checkouts.B), runs: runs.B } };
const out = opt('out', undefined);
if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
for (const field of ['cpuMsPerRequest', 'allocatedKiBPerRequest', 'scavengesPer1000', 'scavengeMsMedian', 'scavengeMsP90', 'markSweepsPer1000']) {
  process.stdout.write(`${field.padEnd(24)} A ${range(runs.A.map((r) => r[field]))} | B ${range(runs.B.map((r) => r[field]))} | B/A paired ${range(runs.A.map((r, i) => runs.B[i][field] / r[field]))}\n`);
}
process.stdout.write(`load ${range([...runs.A, ...runs.B].map((r) => r.load))}\n`);

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function child(checkout) {
  const { platform, entities: entityCount, request } = await openCheckoutRequest(checkout, dir);
  // 64 different key sets, as a server sees different entities request by request.
  const bodies = keySetBodies(64, count, entityCount);
  const serve = async (i) => request(bodies[i % bodies.length], Date.now());
  for (let i = 0; i < 500; i++) await serve(i);
  // CPU and collections, nothing else measured.
  const gcs = [];
  const observer = new PerformanceObserver((list) => gcs.push(...list.getEntries().map((e) => ({ kind: e.detail?.kind ?? e.kind, ms: e.duration }))));
  observer.observe({ entryTypes: ['gc'] });
  const cpu = process.cpuUsage();
  for (let i = 0; i < requests; i++) await serve(i);
  const used = process.cpuUsage(cpu);
  await sleep(50);
  observer.disconnect();
  const { constants } = await import('node:perf_hooks');
  const scavenges = gcs.filter((g) => g.kind === constants.NODE_PERFORMANCE_GC_MINOR);
  const majors = gcs.filter((g) => g.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
  // Bytes: the used heap before and after each request; a request during which a GC ran reads lower and is left out.
  const deltas = [];
  for (let i = 0; i < Math.min(requests, 1000); i++) {
    const before = v8.getHeapStatistics().used_heap_size;
    await serve(i);
    const after = v8.getHeapStatistics().used_heap_size;
    if (after >= before) deltas.push(after - before);
  }
  deltas.sort((x, y) => x - y);
  await platform.close();
  return {
    cpuMsPerRequest: (used.user + used.system) / 1000 / requests,
    allocatedKiBPerRequest: deltas[deltas.length >> 1] / 1024,
    scavengesPer1000: (scavenges.length * 1000) / requests,
    // Wall time: on a loaded machine the upper quantiles are mostly waiting for a CPU.
    scavengeMsMedian: quantile(scavenges.map((g) => g.ms), 0.5),
    scavengeMsP90: quantile(scavenges.map((g) => g.ms), 0.9),
    markSweepsPer1000: (majors.length * 1000) / requests,
  };
}
