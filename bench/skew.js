// `node bench/skew.js` (after `npm run build`; `npm run bench:skew` builds first): the skew job's
// throughput, in served rows (and values) compared per second, for N served rows of the 50-feature
// benchmark service. Options:
//   --rows N (100_000 served rows)  --events N (1_000_000)  --entities N (10_000)  --rounds N (3)
// The served rows are real answers (`getOnlineFeatures` over the materialized store, 100 entities
// per request, at 10 times a minute apart), written to the serving log in its layout
// (`src/observability/serving-log/served-row.ts`); the job then reads them, recomputes every value
// offline over the snapshots they reflected, and compares. Wall time and the process's CPU time
// (DuckDB's threads included), median of the rounds; every round must find 0 mismatches.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/load-project.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { runSkewJob } from '../dist/observability/skew/index.js';
import { servingLogFile } from '../dist/observability/serving-log/served-row.js';
import { materialize } from '../dist/processing/materialize.js';
import { openPlatform } from '../dist/platform.js';
import { latestSnapshots } from '../dist/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../dist/serving/online-features.js';
import { BENCH_CONFIG } from './bench-project.js';
import { generateBenchData } from './generate.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const rows = opt('rows', 100_000);
const events = opt('events', 1_000_000);
const entities = opt('entities', 10_000);
const rounds = opt('rounds', 3);
const log = (line) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-skew-'));
mkdirSync(join(dir, 'data'), { recursive: true });
writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
const commit = { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
const end = Math.floor(Date.now() / 60_000) * 60_000;
const clock = { now: end };
try {
  const project = await loadProject(dir);
  const platform = openPlatform({ projectDir: dir, now: () => clock.now });
  await platform.metadata.recordRegistry(project);
  const files = await generateBenchData(await platform.engine(), { dir: join(dir, 'data'), events, entities, spineRows: 1, end });
  await ingestFile(platform, project, 'transactions', files.transactions);
  await ingestFile(platform, project, 'customers', files.customers);
  log('materializing...');
  await materialize(platform, project);
  const store = await platform.online();
  const latest = await latestSnapshots(platform.metadata, project);
  log(`serving and logging ${rows} rows...`);
  const perRequest = 100;
  const requests = Math.ceil(rows / perRequest);
  let logged = 0;
  for (let r = 0; r < requests; r++) {
    const t = end + (r % 10) * 60_000;
    const keys = Array.from({ length: Math.min(perRequest, rows - logged) }, (_, i) => `c${String((r * 7919 + i * 104_729) % entities).padStart(7, '0')}`);
    const response = await getOnlineFeatures(project, store, { service: 'all', entities: { customer_id: keys } }, t, latest);
    const views = Object.fromEntries(Object.entries(response.views).map(([v, s]) => [v, { definitionHash: s.viewHash, snapshots: s.snapshots }]));
    const lines = response.rows.map((row, i) => JSON.stringify({
      requestId: `r${r}`, service: 'all', entityKey: keys[i], keys: { customer_id: keys[i] }, asOf: response.asOf, servedAt: t,
      values: Object.fromEntries(response.features.map((f) => [f, typeof row[f] === 'bigint' ? row[f].toString() : row[f]])),
      statuses: Object.fromEntries(response.features.map((f, c) => [f, response.metadata[i].status[c]])), views,
    }));
    const file = servingLogFile(platform.dataDir, 'all', t);
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, `${lines.join('\n')}\n`);
    logged += keys.length;
  }
  const wall = [];
  const cpuMs = [];
  let report;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    report = await runSkewJob(platform, project, { service: 'all', since: end, until: end + 3_600_000 });
    const used = process.cpuUsage(cpu);
    wall.push(performance.now() - started);
    cpuMs.push((used.user + used.system) / 1000);
    const mismatches = report.features.reduce((n, f) => n + f.mismatches, 0);
    const compared = report.features.reduce((n, f) => n + f.compared, 0);
    log(`skew round ${round}: ${report.servedRows} rows, ${compared} values compared, ${mismatches} mismatches, ${Math.round(wall.at(-1))} ms, ${Math.round(cpuMs.at(-1))} ms CPU`);
    if (mismatches > 0) throw new Error(`the skew job found ${mismatches} mismatches on a healthy pipeline`);
  }
  await platform.close();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const compared = report.features.reduce((n, f) => n + f.compared, 0);
  const result = {
    commit, at: new Date().toISOString(), servedRows: report.servedRows, features: report.features.length, valuesCompared: compared, events, entities, rounds,
    skewJobMs: Math.round(median(wall)), skewJobCpuMs: Math.round(median(cpuMs)),
    rowsPerSecond: Math.round(report.servedRows / (median(wall) / 1000)),
    valuesPerSecond: Math.round(compared / (median(wall) / 1000)),
    // Per CPU second of the process (DuckDB's threads included): what a loaded, shared machine moves less than wall time.
    rowsPerCpuSecond: Math.round(report.servedRows / (median(cpuMs) / 1000)),
    valuesPerCpuSecond: Math.round(compared / (median(cpuMs) / 1000)),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
