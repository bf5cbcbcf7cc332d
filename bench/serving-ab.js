// Two builds of `sluice serve` (A, e.g. main, and B, a change) and the bare route over the same
// store, interleaved round by round (A B bare, then B A bare, ...), on a shared machine: the
// servers' CPU time per request is the steady figure; the medians and ranges of each are printed.
//   node bench/serving-ab.js --a CHECKOUT_A --b CHECKOUT_B [--dir DATA (bench/.work)] [--rounds 4]
//     [--duration 5] [--entities 1,100] [--connections 1,16] [--query ''] [--port 6911] [--sized] [--out FILE]
//     [--server-cpus 1]
// `--server-cpus` pins the three servers to those CPUs (taskset); run the bench itself (the load
// generator) on others: `taskset -c 0 node bench/serving-ab.js ... --server-cpus 1`.
// A checkout is a directory with `bin/sluice.js` and a built `dist/`. `--query format=columnar`
// asks B (only B) for that answer format.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abCheckouts, load, option, startChild } from './serving.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = option;
const { checkouts, dir } = abCheckouts();
const rounds = Number(opt('rounds', 4));
const duration = Number(opt('duration', 5));
const counts = opt('entities', '1,100').split(',').map(Number);
const connectionCounts = opt('connections', '1,16').split(',').map(Number);
const queryB = opt('query', '');
const out = opt('out', undefined);
const port = Number(opt('port', 6911));
const pin = opt('server-cpus', undefined) === undefined ? {} : { cpus: opt('server-cpus') };

const commitOf = (checkout) => {
  try {
    const git = (...a) => execFileSync('git', ['-C', checkout, ...a], { encoding: 'utf8' }).trim();
    return { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    // A copy of a build (not a checkout) may say what it was built from in a COMMIT file.
    return { sha: existsSync(join(checkout, 'COMMIT')) ? readFileSync(join(checkout, 'COMMIT'), 'utf8').trim() : 'not a git checkout', dirty: null };
  }
};

const servers = {
  A: await startChild([join(checkouts.A, 'bin', 'sluice.js'), 'serve', '--project', dir, '--port', String(port), '--log-level', 'warn'], 'serving on', pin),
  B: await startChild([join(checkouts.B, 'bin', 'sluice.js'), 'serve', '--project', dir, '--port', String(port + 1), '--log-level', 'warn'], 'serving on', pin),
  bare: await startChild([join(here, 'bare-server.js'), join(dir, '.sluice', 'online'), String(port + 2), 'txn', 'profile'], 'ready', pin),
};
const urls = {
  A: `http://127.0.0.1:${port}/v1/features/online`,
  B: `http://127.0.0.1:${port + 1}/v1/features/online${queryB ? `?${queryB}` : ''}`,
  bare: `http://127.0.0.1:${port + 2}/bare`,
};
// With --sized, also the bare route's reference that answers as many bytes as B (see bare-server.js).
const sized = args.includes('--sized');
const keys = (n, offset) => Array.from({ length: n }, (_, i) => `c${String((offset + i * 7919) % 100_000).padStart(7, '0')}`);
const runs = [];
try {
  for (const count of counts) {
    const body = { service: 'all', entities: { customer_id: keys(count, 17) } };
    for (const name of ['A', 'B', 'bare']) await load(servers[name], urls[name], body, 4, 2);
  }
  const sizedUrls = {};
  for (const count of counts) {
    const body = { service: 'all', entities: { customer_id: keys(count, 17) } };
    const answer = await globalThis.fetch(urls.B, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    sizedUrls[count] = `http://127.0.0.1:${port + 2}/bare-sized?bytes=${(await answer.arrayBuffer()).byteLength}`;
  }
  servers.sized = servers.bare;
  for (let round = 0; round < rounds; round++) {
    const order = [...(round % 2 === 0 ? ['A', 'B', 'bare'] : ['B', 'A', 'bare']), ...(sized ? ['sized'] : [])];
    for (const count of counts) {
      const body = { service: 'all', entities: { customer_id: keys(count, 17) } };
      for (const connections of connectionCounts) {
        for (const name of order) {
          const result = await load(servers[name], name === 'sized' ? sizedUrls[count] : urls[name], body, connections, duration);
          const run = { round, server: name, entities: count, connections, load1: Number(loadavg()[0].toFixed(2)), ...result };
          runs.push(run);
          process.stderr.write(`${JSON.stringify(run)}\n`);
        }
      }
    }
  }
} finally {
  for (const child of new Set(Object.values(servers))) child.kill('SIGTERM');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = {};
for (const count of counts) {
  for (const connections of connectionCounts) {
    const of = (name, field) => runs.filter((r) => r.server === name && r.entities === count && r.connections === connections).map((r) => r[field]);
    const line = {};
    for (const name of ['A', 'B', 'bare', ...(sized ? ['sized'] : [])]) {
      line[name] = Object.fromEntries(['cpuMsPerRequest', 'requestsPerSecond', 'p50Ms', 'p99Ms'].map((f) => [f, { median: median(of(name, f)), min: Math.min(...of(name, f)), max: Math.max(...of(name, f)) }]));
    }
    // Per round, the bare route's CPU per request over the server's, and its throughput ratio.
    for (const name of ['A', 'B', ...(sized ? ['sized'] : [])]) {
      const cpu = of('bare', 'cpuMsPerRequest').map((bare, i) => bare / of(name, 'cpuMsPerRequest')[i]);
      const rps = of(name, 'requestsPerSecond').map((x, i) => x / of('bare', 'requestsPerSecond')[i]);
      line[name].cpuRatioToBare = { median: Number(median(cpu).toFixed(3)), min: Number(Math.min(...cpu).toFixed(3)), max: Number(Math.max(...cpu).toFixed(3)) };
      line[name].throughputRatioToBare = { median: Number(median(rps).toFixed(3)), min: Number(Math.min(...rps).toFixed(3)), max: Number(Math.max(...rps).toFixed(3)) };
    }
    summary[`entities${count}_connections${connections}`] = line;
  }
}
const result = { serverCpus: pin.cpus ?? null, a: { checkout: checkouts.A, commit: commitOf(checkouts.A) }, b: { checkout: checkouts.B, commit: commitOf(checkouts.B), query: queryB }, rounds, durationSeconds: duration, loadAverage: loadavg(), summary, runs };
if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
const range = ({ median: m, min, max }) => `${Number(m.toFixed(3))} (${min}-${max})`;
process.stdout.write(`A ${checkouts.A} ${JSON.stringify(result.a.commit)}\nB ${checkouts.B} ${JSON.stringify(result.b.commit)} ${queryB}\nload average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
for (const [what, line] of Object.entries(summary)) {
  for (const name of ['A', 'B', 'bare', ...(sized ? ['sized'] : [])]) {
    const x = line[name];
    const ratios = name === 'bare' ? '' : ` | to bare: CPU ${range(x.cpuRatioToBare)}, req/s ${range(x.throughputRatioToBare)}`;
    process.stdout.write(`${what} ${name.padEnd(4)} CPU ms/req ${range(x.cpuMsPerRequest)} | req/s ${range(x.requestsPerSecond)} | p99 ${range(x.p99Ms)}${ratios}\n`);
  }
}
