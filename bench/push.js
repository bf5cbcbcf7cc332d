// `node bench/push.js [--batches 100,1000] [--connections 8] [--duration 10] [--entities 100000] [--out FILE]`:
// sustained push throughput with durable acknowledgements (issue 6 §7). For each batch size:
//   (a) the floor: the durable log alone, in this process: `lmdbEventLog().append` of the same
//       batches (event texts and their ids, as the stream processor appends them), with the same
//       number of appends in flight as there are HTTP connections;
//   (b) Sluice: `sluice serve` in its own process (push API, stream processor, online state),
//       a stream source with a realistic view (windowed count, sum, avg, max, countDistinct and a
//       last), driven by autocannon from this process with `--connections` connections, each
//       request a fresh batch of unique events (new ids, event times in the last 30 minutes) over
//       `--entities` accounts; every answer is checked (all accepted).
// Reports events/s of each, the ratio b/a, and the ack-to-visible freshness of the measured
// window (the difference of `GET /v1/streams`'s histogram before and after it), with the commit
// measured. `--shaped` gives the view row transforms (a filter and derived columns, see
// stream-project.js) to measure their cost on the push path; `--checks` gives the source four
// `error` row checks (all passing) to measure theirs. `--profile DIR` writes a CPU profile of each `sluice serve` into DIR. `--server-cpus LIST` pins
// `sluice serve` to those CPUs (`taskset -c LIST`; run the bench itself under `taskset -c` other CPUs). Needs `npm run build` first (it runs the built dist/).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadProject } from '../dist/config/load-project.js';
import { openPlatform } from '../dist/platform.js';
import { lmdbEventLog } from '../dist/storage/log/lmdb/index.js';
import { FRESHNESS_BUCKETS_MS } from '../dist/streaming/freshness.js';
import { CHECKED_STREAM_CONFIG, SHAPED_STREAM_CONFIG, STREAM_CONFIG } from './stream-project.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const batchSizes = opt('batches', '100,1000').split(',').map(Number);
const connections = Number(opt('connections', 8));
const duration = Number(opt('duration', 10));
const entities = Number(opt('entities', 100_000));
const log = (line) => process.stderr.write(`${line}\n`);

const CHANNELS = ['card', 'web', 'pos', 'wire'];
let sequence = 0;
/** `n` new events: unique ids, skewed accounts, event times in the last 30 minutes. */
function newEvents(n) {
  const texts = new Array(n);
  const ids = new Array(n);
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const s = sequence++;
    const id = `p${s}`;
    const account = (s * 2_654_435_761) % entities;
    ids[i] = id;
    texts[i] = `{"payment_id":"${id}","account_id":"a${account}","amount":${(s % 99_991) / 100},"channel":"${CHANNELS[s & 3]}","ts":"${new Date(now - (s % 1_800_000)).toISOString()}"}`;
  }
  return { texts, ids };
}

/** (a) The durable log alone: `connections` appends in flight, each of a fresh batch, for `seconds`. */
async function logFloor(batch, seconds) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-log-'));
  const eventLog = lmdbEventLog({ path: dir });
  let appended = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const writer = async () => {
    while (performance.now() < until) {
      const { texts, ids } = newEvents(batch);
      const result = await eventLog.append('payments', { ackTime: Date.now(), origin: 'push', events: texts, ids, rejected: [] });
      appended += texts.length - result.duplicates.length;
    }
  };
  await Promise.all(Array.from({ length: connections }, writer));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await eventLog.close();
  rmSync(dir, { recursive: true, force: true });
  // This process's CPU includes making the events (the load generator pays that on the push side).
  return { eventsPerSecond: Math.round(appended / elapsed), appendsPerSecond: Math.round(appended / batch / elapsed), cpuMicrosPerEvent: Math.round((cpu.user + cpu.system) / appended) };
}

async function startServe(dir, port) {
  const profile = opt('profile', undefined);
  // `--server-cpus 1`: the server pinned with taskset (run the bench itself under `taskset -c 0`), so load generator and server do not share a core.
  const cpuList = opt('server-cpus', undefined);
  const command = [process.execPath, ...(profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(profile)] : []), join(here, '..', 'bin', 'sluice.js'), 'serve', '--project', dir, '--port', String(port), '--log-level', 'warn'];
  const child = spawn(cpuList ? 'taskset' : command[0], cpuList ? ['-c', cpuList, ...command] : command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((ready, fail) => {
    child.stdout.on('data', (chunk) => chunk.toString().includes('serving on') && ready());
    child.once('exit', (code) => fail(new Error(`sluice serve exited with ${code}`)));
  });
  return child;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The freshness histogram of the view: cumulative counts per bucket. */
async function freshness(port) {
  const streams = await new Promise((done, fail) => {
    get(`http://127.0.0.1:${port}/v1/streams`, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => done(JSON.parse(body)));
    }).once('error', fail);
  });
  const view = streams.freshness.find((f) => f.view === 'payment_stats');
  return { counts: view ? view.buckets.map((b) => b.count) : [], max: view?.maxMs ?? 0, offset: streams.sources[0]?.offset ?? 0 };
}

/** Quantiles of the difference of two cumulative histograms (the upper bound of the bucket each falls in). */
function windowQuantiles(before, after) {
  const counts = after.counts.map((c, b) => c - (before.counts[b] ?? 0));
  const total = counts.at(-1) ?? 0;
  const bound = (q) => {
    const b = counts.findIndex((c) => c >= q * total);
    return b < FRESHNESS_BUCKETS_MS.length ? FRESHNESS_BUCKETS_MS[b] : `> ${FRESHNESS_BUCKETS_MS.at(-1)}`;
  };
  return { groupsObserved: total, p50Ms: bound(0.5), p99Ms: bound(0.99), maxMsSinceStart: after.max };
}

/** (b) Pushes through `sluice serve` for `seconds`; every answer must accept the whole batch. */
async function push(port, batch, seconds) {
  let accepted = 0;
  let refused = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/push/payments`, connections, duration: seconds, timeout: 30,
    requests: [{
      method: 'POST', headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, body: `{"events":[${newEvents(batch).texts.join(',')}]}` }),
      onResponse: (status, body) => {
        if (status !== 200) return void refused++;
        const answer = JSON.parse(body);
        if (answer.accepted !== batch) throw new Error(`a batch of ${batch} was not accepted whole: ${body.slice(0, 500)}`);
        accepted += answer.accepted;
      },
    }],
  });
  if (result.errors > 0 || refused > 0) throw new Error(`push: ${result.errors} errors, ${refused} refused (non-200)`);
  return { eventsPerSecond: Math.round(accepted / seconds), requestsPerSecond: Math.round(result.requests.average), latencyP50Ms: result.latency.p50, latencyP99Ms: result.latency.p99 };
}

async function main() {
  const work = join(here, '.work', 'push');
  const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
  const report = {
    // An exported copy (`git archive`, for an A/B against main) has no .git: it names its commit in BENCH_COMMIT.
    commit: process.env.BENCH_COMMIT ? { sha: process.env.BENCH_COMMIT, dirty: false, exported: true } : { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)bench/results') !== '' },
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    at: new Date().toISOString(),
    config: { connections, durationSeconds: duration, entities, features: 8, rowTransforms: args.includes('--shaped'), rowChecks: args.includes('--checks'), loadGenerator: 'autocannon in this process; sluice serve in its own; the floor in this process' },
    targets: '>= 100k events/s; p99 freshness (ack to visible online) <= 50 ms',
    results: [],
  };
  for (const batch of batchSizes) {
    log(`batch ${batch}: durable log alone...`);
    const floor = await logFloor(batch, duration);
    log(`  ${JSON.stringify(floor)}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'sluice.config.ts'), args.includes('--shaped') ? SHAPED_STREAM_CONFIG : args.includes('--checks') ? CHECKED_STREAM_CONFIG : STREAM_CONFIG);
    const platform = openPlatform({ projectDir: work });
    await platform.metadata.recordRegistry(await loadProject(work));
    await platform.close();
    const port = 6710;
    const server = await startServe(work, port);
    try {
      log(`batch ${batch}: push through sluice serve...`);
      await push(port, batch, 2);
      const before = await freshness(port);
      const cpuBefore = cpuSeconds(server.pid);
      const sluice = await push(port, batch, duration);
      const serverCpuSeconds = cpuSeconds(server.pid) - cpuBefore;
      const after = await freshness(port);
      const fresh = windowQuantiles(before, after);
      // CPU per event resists the machine being shared better than events/s does.
      sluice.serverCpuMicrosPerEvent = Math.round((serverCpuSeconds * 1e6) / (sluice.eventsPerSecond * duration));
      const result = { batch, loadAverage: loadavg()[0], floor, sluice, ratioToFloor: Number((sluice.eventsPerSecond / floor.eventsPerSecond).toFixed(3)), freshness: fresh, logEntriesInWindow: after.offset - before.offset };
      log(`  ${JSON.stringify(result)}`);
      report.results.push(result);
    } finally {
      server.kill('SIGTERM');
      await new Promise((done) => server.once('exit', done));
    }
  }
  rmSync(work, { recursive: true, force: true });
  const out = opt('out', undefined);
  if (out !== undefined) writeFileSync(resolve(out), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
