// `node bench/serving-log.js` (after `npm run build`): online serving throughput with the sampled
// serving log on (sample rate 1.0 and 0.1) against off, in the same run, over the same store.
// Options:  --events N (300_000)  --entities N (10_000)  --seconds S (5, per load)  --rounds N (3)
// Three `sluice serve` processes over copies of one project and store (`--serving-log-rate 0`, `1`, `0.1`), driven in
// turn by autocannon (16 connections, 1 and 100 entities per request), the order rotated each
// round; medians of the rounds. Throughput and the server's CPU time per request (which a loaded,
// shared machine moves less than throughput). Target: with the log on, >= 90% of the throughput
// off. Needs the serving log writer (`sluice serve --serving-log-rate`).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/load-project.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { materialize } from '../dist/processing/materialize.js';
import { openPlatform } from '../dist/platform.js';
import { BENCH_CONFIG } from './bench-project.js';
import { generateBenchData } from './generate.js';
import { load, startChild } from './serving.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const events = opt('events', 300_000);
const entities = opt('entities', 10_000);
const seconds = opt('seconds', 5);
const rounds = opt('rounds', 3);
const log = (line) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-servinglog-'));
mkdirSync(join(dir, 'data'), { recursive: true });
writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
const commit = { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
const servers = [];
/** Bytes of the serving log files a server has written so far. */
const logBytes = (projectDir) => {
  const root = join(projectDir, '.sluice', 'serving-log');
  let bytes = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else bytes += statSync(join(d, e.name)).size;
    }
  };
  try { walk(root); } catch { /* no log yet */ }
  return bytes;
};
try {
  const project = await loadProject(dir);
  const platform = openPlatform({ projectDir: dir });
  await platform.metadata.recordRegistry(project);
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const files = await generateBenchData(await platform.engine(), { dir: join(dir, 'data'), events, entities, spineRows: 1, end });
  await ingestFile(platform, project, 'transactions', files.transactions);
  await ingestFile(platform, project, 'customers', files.customers);
  log('materializing...');
  await materialize(platform, project);
  await platform.close();
  const modes = [{ name: 'off', rate: '0' }, { name: 'rate1', rate: '1' }, { name: 'rate0.1', rate: '0.1' }];
  for (const [i, mode] of modes.entries()) {
    const port = 6711 + i;
    // A copy of the project (and its store) per server, so each writes its own log.
    mode.dir = join(dir, mode.name);
    cpSync(join(dir, 'sluice.config.ts'), join(mode.dir, 'sluice.config.ts'));
    cpSync(join(dir, '.sluice'), join(mode.dir, '.sluice'), { recursive: true });
    mode.url = `http://127.0.0.1:${port}/v1/features/online`;
    mode.server = await startChild([join(here, '..', 'bin', 'sluice.js'), 'serve', '--project', mode.dir, '--port', String(port), '--log-level', 'warn', '--serving-log-rate', mode.rate], 'serving on');
    servers.push(mode.server);
  }
  const keys = (n, offset) => Array.from({ length: n }, (_, i) => `c${String((offset + i * 7919) % entities).padStart(7, '0')}`);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = {};
  for (const count of [1, 100]) {
    // One body per load, as bench/serving.js drives it: at 100 entities a 0.1 rate logs about a tenth of
    // the rows; at 1 entity its key is sampled or not, so that figure is either the off or the 1.0 cost.
    const bodies = [{ service: 'all', entities: { customer_id: keys(count, 17) } }];
    const runs = Object.fromEntries(modes.map((m) => [m.name, []]));
    for (const m of modes) await load(m.server, m.url, bodies[0], 4, 1);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < modes.length; k++) {
        const m = modes[(round + k) % modes.length];
        const before = logBytes(m.dir);
        const r = await load(m.server, m.url, bodies[0], 16, seconds);
        runs[m.name].push({ ...r, logBytesPerSecond: Math.round((logBytes(m.dir) - before) / seconds) });
        log(`${count} entities, ${m.name}: ${r.requestsPerSecond} req/s, ${r.cpuMsPerRequest} ms CPU/request`);
      }
    }
    const summary = Object.fromEntries(modes.map((m) => [m.name, {
      requestsPerSecond: median(runs[m.name].map((r) => r.requestsPerSecond)), cpuMsPerRequest: median(runs[m.name].map((r) => r.cpuMsPerRequest)),
      p99Ms: median(runs[m.name].map((r) => r.p99Ms)), logBytesPerSecond: median(runs[m.name].map((r) => r.logBytesPerSecond)),
    }]));
    const ratio = (a, b) => Number((a / b).toFixed(3));
    results[`entities${count}`] = {
      ...summary,
      throughputRatio: { rate1: ratio(summary.rate1.requestsPerSecond, summary.off.requestsPerSecond), 'rate0.1': ratio(summary['rate0.1'].requestsPerSecond, summary.off.requestsPerSecond) },
      // CPU per request off over on: the throughput ratio a CPU-bound server would show.
      cpuRatio: { rate1: ratio(summary.off.cpuMsPerRequest, summary.rate1.cpuMsPerRequest), 'rate0.1': ratio(summary.off.cpuMsPerRequest, summary['rate0.1'].cpuMsPerRequest) },
    };
  }
  process.stdout.write(`${JSON.stringify({ commit, at: new Date().toISOString(), events, entities, seconds, rounds, connections: 16, target: 'with the log on >= 0.9x the throughput off', ...results }, null, 2)}\n`);
} finally {
  // Each server flushes its log on SIGTERM: wait for them before removing their files.
  await Promise.all(servers.map((s) => new Promise((resolve) => {
    if (s.exitCode !== null || s.signalCode !== null) return resolve();
    s.once('exit', resolve);
    s.kill('SIGTERM');
  })));
  rmSync(dir, { recursive: true, force: true });
}
