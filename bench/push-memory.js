// `node bench/push-memory.js [--bodies 2] [--mib 27] [--small 0] [--small-events 100] [--sources 1] [--checks] [--chunked] [--out FILE]`:
// the peak memory of `sluice serve` under concurrent push bodies (issue 6 §6). Starts `sluice
// serve` in its own process on the push bench's project (bench/stream-project.js; `--checks`:
// the source with row checks, so groups decode in DuckDB rather than on the plain path), sends
// `--bodies` bodies of about `--mib` MiB of new events each at once (spread over `--sources`
// sources: payments, payments2, ...), and `--small` bodies of `--small-events` events alongside,
// all with a Content-Length (`--chunked`: without one). Reports the server's resident memory
// before (VmRSS) and its peak (VmHWM, from /proc), the peak per admitted body byte, and every
// answer's status (with `Retry-After`), as JSON with the commit measured. Needs `npm run build`.
import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/load-project.js';
import { openPlatform } from '../dist/platform.js';
import { freePort } from './free-port.js';
import { CHECKED_STREAM_CONFIG, STREAM_CONFIG } from './stream-project.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const bodies = Number(opt('bodies', 2));
const mib = Number(opt('mib', 27));
const small = Number(opt('small', 0));
const smallEvents = Number(opt('small-events', 100));
const sources = Number(opt('sources', 1));
const chunked = args.includes('--chunked');
const log = (line) => process.stderr.write(`${line}\n`);

/** The project with `n` copies of the payments source (payments, payments2, ...), each with its view. */
function config(n) {
  const base = args.includes('--checks') ? CHECKED_STREAM_CONFIG : STREAM_CONFIG;
  if (n === 1) return base;
  const extra = Array.from({ length: n - 1 }, (_, i) => i + 2).map((k) => `const payments${k} = streamSource({ ...payments, name: 'payments${k}' });
const stats${k} = featureView({ name: 'payment_stats${k}', entity: account, source: payments${k}, features: stats.features });`).join('\n');
  const names = Array.from({ length: n - 1 }, (_, i) => i + 2);
  return base.replace('export default', `${extra}\nexport default`).replace('sources: [payments]', `sources: [payments, ${names.map((k) => `payments${k}`).join(', ')}]`).replace('featureViews: [stats]', `featureViews: [stats, ${names.map((k) => `stats${k}`).join(', ')}]`);
}

let sequence = 0;
/** A push body of new events, about `bytes` long. */
function body(bytes) {
  const now = Date.now();
  const texts = [];
  let length = 13;
  while (length < bytes) {
    const s = sequence++;
    const text = `{"payment_id":"m${s}","account_id":"a${(s * 2_654_435_761) % 100_000}","amount":${(s % 99_991) / 100},"channel":"card","ts":"${new Date(now - (s % 1_800_000)).toISOString()}"}`;
    texts.push(text);
    length += text.length + 1;
  }
  return { text: `{"events":[${texts.join(',')}]}`, events: texts.length };
}

/** Sends one body; resolves with its status, Retry-After and answer (the answer's first 300 characters). */
function send(port, source, text) {
  return new Promise((done) => {
    const headers = { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': Buffer.byteLength(text) }) };
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/v1/push/${source}`, headers }, (res) => {
      let answer = '';
      res.on('data', (c) => (answer += c));
      res.on('end', () => done({ status: res.statusCode, retryAfter: res.headers['retry-after'] ?? null, answer: answer.slice(0, 300) }));
    });
    // A refused body's connection is closed before the rest is written.
    req.on('error', (error) => done({ status: 'error', error: error.message }));
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += 1 << 20) req.write(bytes.subarray(at, at + (1 << 20)));
    req.end();
  });
}

function status(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)[1]);
  return { rssBytes: kib('VmRSS') * 1024, peakBytes: kib('VmHWM') * 1024, anonBytes: kib('RssAnon') * 1024, fileBytes: kib('RssFile') * 1024 };
}

async function main() {
  const work = join(here, '.work', `push-memory-${process.pid}`);
  const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'sluice.config.ts'), config(sources));
  const platform = openPlatform({ projectDir: work });
  await platform.metadata.recordRegistry(await loadProject(work));
  await platform.close();
  const port = await freePort();
  const serveArgs = opt('serve-args', '').split(' ').filter(Boolean);
  const server = spawn(process.execPath, [...(process.env.PUSH_MEMORY_TRACE ? ['--trace-gc'] : []), join(here, '..', 'bin', 'sluice.js'), 'serve', '--project', work, '--port', String(port), '--log-level', 'warn', ...serveArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((ready, fail) => {
    server.stdout.on('data', (chunk) => chunk.toString().includes('serving on') && ready());
    if (process.env.PUSH_MEMORY_TRACE) server.stdout.on('data', (chunk) => process.stderr.write(chunk));
    server.once('exit', (code) => fail(new Error(`sluice serve exited with ${code}`)));
  });
  try {
    const source = (i) => (i % sources === 0 ? 'payments' : `payments${(i % sources) + 1}`);
    // A small push first: the server's memory after its first append is the baseline.
    await send(port, 'payments', body(2000).text);
    const before = status(server.pid);
    const large = Array.from({ length: bodies }, () => body(mib * 2 ** 20));
    const little = Array.from({ length: small }, () => body(smallEvents * 150));
    log(`sending ${bodies} bodies of ${mib} MiB (${large[0]?.events ?? 0} events each) and ${small} of ${smallEvents} events...`);
    // Resident memory sampled while the answers come, and for 3 s after (the lake commit moves the entries on within a second).
    let sampledUntilAnswered = 0;
    let sampledAfter = 0;
    let answered = false;
    const sampler = setInterval(() => {
      const rss = status(server.pid).rssBytes;
      if (answered) sampledAfter = Math.max(sampledAfter, rss);
      else sampledUntilAnswered = Math.max(sampledUntilAnswered, rss);
    }, 20);
    const answers = await Promise.all([...large.map((b, i) => send(port, source(i), b.text)), ...little.map((b, i) => send(port, source(i), b.text))]);
    answered = true;
    await new Promise((done) => setTimeout(done, 3000));
    clearInterval(sampler);
    const after = status(server.pid);
    const sizes = [...large, ...little].map((b) => Buffer.byteLength(b.text));
    const admitted = answers.reduce((n, a, i) => n + (a.status === 200 ? sizes[i] : 0), 0);
    const tally = {};
    for (const a of answers) tally[a.status] = (tally[a.status] ?? 0) + 1;
    const report = {
      // An exported copy (`git archive`, for a before/after) has no .git: it names its commit in BENCH_COMMIT.
      commit: process.env.BENCH_COMMIT ? { sha: process.env.BENCH_COMMIT, dirty: false, exported: true } : { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)bench/results') !== '' },
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      at: new Date().toISOString(), loadAverage: loadavg()[0],
      config: { bodies, mib, small, smallEvents, sources, chunked, checks: args.includes('--checks'), serveArgs },
      baselineRssMiB: Math.round(before.rssBytes / 2 ** 20), peakRssMiB: Math.round(after.peakBytes / 2 ** 20),
      // Resident now, after the answers: anonymous (heap, buffers) and file-backed (the LMDB maps of the log and online store).
      afterRssMiB: { anon: Math.round(after.anonBytes / 2 ** 20), file: Math.round(after.fileBytes / 2 ** 20), anonBefore: Math.round(before.anonBytes / 2 ** 20), fileBefore: Math.round(before.fileBytes / 2 ** 20) },
      sampledRssMiB: { untilAnswered: Math.round(sampledUntilAnswered / 2 ** 20), after: Math.round(sampledAfter / 2 ** 20) },
      admittedBodyMiB: Number((admitted / 2 ** 20).toFixed(1)),
      peakAboveBaselinePerAdmittedByte: admitted === 0 ? null : Number(((after.peakBytes - before.rssBytes) / admitted).toFixed(2)),
      statuses: tally,
      answers: answers.slice(0, bodies).concat(answers.slice(bodies).filter((a) => a.status !== 200).slice(0, 5)),
    };
    const out = opt('out', undefined);
    if (out !== undefined) writeFileSync(resolve(out), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((done) => server.once('exit', done));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
