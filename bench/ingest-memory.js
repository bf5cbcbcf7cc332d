// `node bench/ingest-memory.js --rows N [--format csv|jsonl|parquet] [--materialize] [--out FILE]`:
// generates an N-row transactions file (default 50M rows, CSV; written by DuckDB as a stream,
// never held in memory), then ingests it in a fresh process and reports rows/s and that
// process's peak RSS as JSON, with the git commit measured; with `--materialize`, a second fresh
// process then materializes the online store from it, measured the same way. Needs `npm run
// build` first (it runs the built dist/).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_CONFIG } from './bench-project.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};

const u = (salt) => `(hash(i, '${salt}') % 1000000007) / 1000000007.0`;
const rowsSql = (rows) => `SELECT printf('t%010d', i) AS txn_id, printf('c%07d', floor(pow(${u('c')}, 1.2) * 100000)::INT) AS customer_id,
  CASE WHEN ${u('n')} < 0.02 THEN NULL ELSE round(exp(1 + 3 * ${u('a')}), 2) END AS amount,
  printf('m%05d', floor(pow(${u('m')}, 2) * 5000)::INT) AS merchant,
  strftime(epoch_ms(1700000000000 + floor(${u('t')} * 2592000000)::BIGINT), '%Y-%m-%dT%H:%M:%S.%gZ') AS ts
  FROM range(${rows}) r(i)`;
const copyOptions = { csv: '(FORMAT CSV, HEADER)', jsonl: '(FORMAT JSON)', parquet: '(FORMAT PARQUET)' };

async function materializeChild(dir) {
  const { openPlatform } = await import('../dist/platform.js');
  const { materialize } = await import('../dist/processing/materialize.js');
  const platform = openPlatform({ projectDir: dir });
  const project = await platform.project();
  const started = performance.now();
  const result = await materialize(platform, project, { views: ['txn'] });
  const seconds = (performance.now() - started) / 1000;
  await platform.close();
  process.stdout.write(JSON.stringify({ result: { entities: result.views[0].entities, events: result.views[0].events }, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

async function child(dir, file) {
  const { openPlatform } = await import('../dist/platform.js');
  const { loadProject } = await import('../dist/config/load-project.js');
  const { ingestFile } = await import('../dist/ingest/ingest-file.js');
  const platform = openPlatform({ projectDir: dir });
  const project = await loadProject(dir);
  await platform.metadata.recordRegistry(project);
  const started = performance.now();
  const result = await ingestFile(platform, project, 'transactions', file, { force: true });
  const seconds = (performance.now() - started) / 1000;
  await platform.close();
  process.stdout.write(JSON.stringify({ result, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

async function main() {
  const rows = Number(opt('rows', 50_000_000));
  const format = opt('format', 'csv');
  if (!(format in copyOptions)) throw new Error(`--format ${format}: use csv, jsonl or parquet`);
  const dir = join(here, '.work', 'ingest-memory');
  const file = join(dir, `transactions-${rows}.${format}`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    process.stderr.write(`generating ${rows} rows of ${format}...\n`);
    await connection.run(`COPY (${rowsSql(rows)}) TO '${file}.tmp' ${copyOptions[format]}`);
    connection.closeSync();
    instance.closeSync();
    execFileSync('mv', [`${file}.tmp`, file]);
  }
  rmSync(join(dir, '.sluice'), { recursive: true, force: true });
  writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
  process.stderr.write(`ingesting ${file}...\n`);
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (run.status !== 0) throw new Error(`the ingest process failed (exit ${run.status})`);
  const measured = JSON.parse(run.stdout);
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)bench/results'], { cwd: here, encoding: 'utf8' }).trim() !== '';
  const report = {
    commit: dirty ? `${commit}+dirty` : commit,
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    format, rows, fileBytes: statSync(file).size,
    accepted: measured.result.accepted, rejected: measured.result.rejected,
    seconds: Number(measured.seconds.toFixed(2)),
    rowsPerSecond: Math.round(rows / measured.seconds),
    peakRssMiB: Math.round(measured.maxRssBytes / 2 ** 20),
  };
  if (args.includes('--materialize')) {
    process.stderr.write('materializing...\n');
    const step = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--materialize-child', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
    if (step.status !== 0) throw new Error(`the materialize process failed (exit ${step.status})`);
    const m = JSON.parse(step.stdout);
    report.materialize = { events: m.result.events, entities: m.result.entities, seconds: Number(m.seconds.toFixed(2)), rowsPerSecond: Math.round(m.result.events / m.seconds), peakRssMiB: Math.round(m.maxRssBytes / 2 ** 20) };
  }
  const out = opt('out', undefined);
  if (out !== undefined) writeFileSync(resolve(out), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

if (args[0] === '--child') await child(args[1], args[2]);
else if (args[0] === '--materialize-child') await materializeChild(args[1]);
else await main();
