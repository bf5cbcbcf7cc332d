// `node bench/ingest-ab.js [--base DIR] [--rows N] [--rounds R] [--formats csv,jsonl,parquet] [--cpu C] [--out FILE]`:
// file ingest CPU per row, this worktree's build against another checkout's (`--base`, its own
// `npm run build` done), alternating in the same run. Generates N transactions (`bench/generate.js`,
// default 2M) as Parquet, CSV and JSONL under `bench/.work-ingest` once, then per round and format
// ingests the file in a fresh project with each build in turn (order swapped every round), each in
// a fresh process pinned with `taskset -c C` (default 1). Reports per run the CPU seconds of the
// ingest call (user + system of the whole process, DuckDB's threads included), wall seconds and
// peak RSS, and checks that both builds wrote the same lake: the same files, each with the same
// rows in the same order. Needs `npm run build` first (it runs the built dist/).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_CONFIG } from './bench-project.js';
import { generateBenchData } from './generate.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};

async function child(dist, dir, file) {
  const { openPlatform } = await import(pathToFileURL(join(dist, 'platform.js')).href);
  const { loadProject } = await import(pathToFileURL(join(dist, 'config/load-project.js')).href);
  const { ingestFile } = await import(pathToFileURL(join(dist, 'ingest/ingest-file.js')).href);
  const platform = openPlatform({ projectDir: dir });
  const project = await loadProject(dir);
  await platform.metadata.recordRegistry(project);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await ingestFile(platform, project, 'transactions', file, { force: true });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const files = (await platform.metadata.latestSnapshot('transactions')).files.map((f) => ({ name: f, path: platform.lake.resolve(f) }));
  await platform.close();
  process.stdout.write(JSON.stringify({ accepted: result.accepted, seconds, cpuSeconds: (used.user + used.system) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024, files }));
}

/** Both lakes hold the same files, each with the same rows in the same order (row numbers compared too). */
async function sameLake(connection, a, b) {
  const names = (files) => files.map((f) => f.name).join('\n');
  if (names(a) !== names(b)) return `different files:\n${names(a)}\nagainst\n${names(b)}`;
  for (const [i, f] of a.entries()) {
    const side = (path) => `(SELECT row_number() OVER () AS _row, * FROM read_parquet('${path}'))`;
    const reader = await connection.runAndReadAll(`SELECT (SELECT count(*) FROM (FROM ${side(f.path)} EXCEPT ALL FROM ${side(b[i].path)})) + (SELECT count(*) FROM (FROM ${side(b[i].path)} EXCEPT ALL FROM ${side(f.path)})) AS d, (SELECT count(*) FROM read_parquet('${f.path}')) AS n`);
    const [d, n] = reader.getRows()[0];
    if (Number(d) !== 0) return `${f.name}: ${d} rows differ of ${n}`;
  }
  return 'same';
}

async function main() {
  const rows = Number(opt('rows', 2_000_000));
  const rounds = Number(opt('rounds', 3));
  const formats = opt('formats', 'csv,jsonl,parquet').split(',');
  const cpu = opt('cpu', '1');
  const base = opt('base', undefined);
  const work = join(here, '.work-ingest');
  const data = join(work, `data-${rows}`);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  if (!existsSync(join(data, 'transactions.jsonl'))) {
    mkdirSync(data, { recursive: true });
    process.stderr.write(`generating ${rows} events...\n`);
    await generateBenchData({ run: (sql) => connection.run(sql) }, { dir: data, events: rows, entities: 100_000, spineRows: 1000, end: Date.parse('2026-11-01T00:00:00Z') });
    for (const format of ['csv', 'jsonl']) {
      await connection.run(`COPY (SELECT * REPLACE (strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts) FROM read_parquet('${data}/transactions.parquet')) TO '${data}/transactions.${format}' (FORMAT ${format === 'csv' ? 'CSV, HEADER' : 'JSON'})`);
    }
  }
  const sides = [{ name: 'this', dist: join(here, '..', 'dist'), root: join(here, '..') }, ...(base ? [{ name: 'base', dist: join(resolve(base), 'dist'), root: resolve(base) }] : [])];
  const commitOf = (root) => execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim() + (execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim() === '' ? '' : '+dirty');
  // The commits as the runs start (each side's dist is what its last build made of its tree).
  const commits = Object.fromEntries(sides.map((s) => [s.name, commitOf(s.root)]));
  const runs = [];
  const lakes = {};
  for (let round = 0; round < rounds; round++) {
    for (const format of formats) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const dir = join(work, `run-${side.name}-${format}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
        const load = loadavg()[0];
        const run = spawnSync('taskset', ['-c', cpu, process.execPath, fileURLToPath(import.meta.url), '--child', side.dist, dir, join(data, `transactions.${format}`)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
        if (run.status !== 0) throw new Error(`the ingest process of ${side.name} failed (exit ${run.status})`);
        const m = JSON.parse(run.stdout);
        const entry = { round, format, side: side.name, accepted: m.accepted, files: m.files.length, cpuSeconds: Number(m.cpuSeconds.toFixed(2)), seconds: Number(m.seconds.toFixed(2)), peakRssMiB: Math.round(m.maxRssBytes / 2 ** 20), load1: Number(load.toFixed(2)) };
        runs.push(entry);
        lakes[`${side.name}-${format}`] = m.files;
        process.stderr.write(`${JSON.stringify(entry)}\n`);
      }
      if (base) {
        const same = await sameLake(connection, lakes[`this-${format}`], lakes[`base-${format}`]);
        runs.at(-1).lakeCompared = same;
        process.stderr.write(`  lake (${format}): ${same}\n`);
        if (same !== 'same') throw new Error(`the lakes differ (${format}): ${same}`);
      }
    }
  }
  const summary = {};
  for (const format of formats) {
    for (const side of sides) {
      const mine = runs.filter((r) => r.format === format && r.side === side.name);
      summary[`${format}-${side.name}`] = { cpuSeconds: mine.map((r) => r.cpuSeconds), seconds: mine.map((r) => r.seconds), peakRssMiB: mine.map((r) => r.peakRssMiB) };
    }
  }
  const report = {
    at: new Date().toISOString(), rows, rounds, cpu,
    commits,
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    summary, runs,
  };
  connection.closeSync();
  instance.closeSync();
  const out = opt('out', undefined);
  if (out !== undefined) writeFileSync(resolve(out), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

if (args[0] === '--child') await child(args[1], args[2], args[3]);
else await main();
