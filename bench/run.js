// `npm run bench`: measures dataset builds, materialization and online serving on this machine,
// each as a ratio to a baseline measured in the same run. Options:
//   --events N (10_000_000)  --entities N (100_000)  --spine N (1_000_000)  --duration S (10)
//   --skip-serving  --only-serving (reuse the last run's data)  --out FILE (bench/results/latest.json)
//   --skip-builds (no CSV/JSONL ingest, no dataset builds: the data and the online store for serving)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/load-project.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { openPlatform } from '../dist/platform.js';
import { materialize } from '../dist/processing/materialize.js';
import { buildDataset } from '../dist/serving/datasets/build-dataset.js';
import { BENCH_CONFIG } from './bench-project.js';
import { floorQuery } from './floor-query.js';
import { generateBenchData } from './generate.js';
import { benchServing } from './serving.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const config = {
  events: Number(opt('events', 10_000_000)),
  entities: Number(opt('entities', 100_000)),
  spineRows: Number(opt('spine', 1_000_000)),
  duration: Number(opt('duration', 10)),
  serving: !args.includes('--skip-serving'),
  builds: !args.includes('--skip-builds'),
};
const out = resolve(opt('out', join(here, 'results', 'latest.json')));
const dir = join(here, '.work');
const log = (line) => process.stderr.write(`${line}\n`);
const seconds = async (body) => {
  const started = performance.now();
  const value = await body();
  return [value, (performance.now() - started) / 1000];
};

const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
const commit = { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };

if (args.includes('--only-serving')) {
  const serving = await benchServing({ dir, entities: config.entities, duration: config.duration, features: 50 });
  process.stdout.write(`${JSON.stringify({ commit, machine, at: new Date().toISOString(), serving }, null, 2)}\n`);
  process.exit(0);
}
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'data'), { recursive: true });
writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
const platform = openPlatform({ projectDir: dir });
const project = await loadProject(dir);
await platform.metadata.recordRegistry(project);
const engine = await platform.engine();
const end = Math.floor(Date.now() / 60_000) * 60_000;
log(`generating ${config.events} events for ${config.entities} entities...`);
const files = await generateBenchData(engine, { dir: join(dir, 'data'), events: config.events, entities: config.entities, spineRows: config.spineRows, end });

const results = { commit, machine, config, at: new Date().toISOString() };

log('ingest...');
const [txns, ingestS] = await seconds(() => ingestFile(platform, project, 'transactions', files.transactions));
await ingestFile(platform, project, 'customers', files.customers);
results.ingest = { parquet: { rows: txns.accepted, seconds: ingestS, rowsPerSecond: Math.round(txns.accepted / ingestS) } };
log(`  parquet ${ingestS.toFixed(1)} s`);
// The same rows as CSV and JSONL, each ingested into a throwaway project of its own.
for (const format of config.builds ? ['csv', 'jsonl'] : []) {
  const file = join(dir, 'data', `transactions.${format}`);
  await engine.run(`COPY (SELECT * REPLACE (strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts) FROM read_parquet('${files.transactions}')) TO '${file}' (FORMAT ${format === 'csv' ? 'CSV, HEADER' : 'JSON'})`);
  const other = join(dir, `ingest-${format}`);
  mkdirSync(other, { recursive: true });
  const side = openPlatform({ projectDir: other });
  await side.metadata.recordRegistry(project);
  const [r, s] = await seconds(() => ingestFile(side, project, 'transactions', file));
  await side.close();
  rmSync(other, { recursive: true, force: true });
  rmSync(file, { force: true });
  results.ingest[format] = { rows: r.accepted, seconds: s, rowsPerSecond: Math.round(r.accepted / s) };
  log(`  ${format} ${s.toFixed(1)} s`);
}

log('materialize...');
const [mat, matS] = await seconds(() => materialize(platform, project));
const entityRows = mat.views.reduce((n, v) => n + v.entities, 0);
const eventRows = mat.views.reduce((n, v) => n + v.events, 0);
log(`  ${matS.toFixed(1)} s`);
results.materialize = { sourceRows: eventRows, entityStates: entityRows, retainedEvents: mat.views.reduce((n, v) => n + v.retainedEvents, 0), seconds: matS, sourceRowsPerSecond: Math.round(eventRows / matS), target: '>= 500k rows/s' };

if (config.builds) {
  log('dataset build (sluice)...');
  const sluiceOut = join(dir, 'train.parquet');
  const [manifest, buildS] = await seconds(() => buildDataset(platform, project, { spine: files.spine, service: 'all', out: sluiceOut }));
  log(`  ${buildS.toFixed(1)} s`);
  const lakeFiles = async (source) => (await platform.metadata.latestSnapshot(source)).files.map((f) => platform.lake.resolve(f));
  const txnFiles = await lakeFiles('transactions');
  const customerFiles = await lakeFiles('customers');
  log('dataset build (hand-written DuckDB floor)...');
  const floorOut = join(dir, 'floor.parquet');
  // A floor that fails (the exact one can run out of memory at full size) is reported, not fatal.
  const attempt = async (body) => {
    try {
      return (await seconds(body))[1];
    } catch (error) {
      log(`  failed: ${error.message.split('\n')[0]}`);
      return { failed: error.message.split('\n')[0] };
    }
  };
  const floorS = await attempt(() => engine.run(floorQuery({ spine: files.spine, txnFiles, customerFiles, out: floorOut })));
  log('dataset build (hand-written, plain sum: order-dependent sums)...');
  const looseS = await attempt(() => engine.run(floorQuery({ spine: files.spine, txnFiles, customerFiles, out: join(dir, 'floor-unordered.parquet'), sumFunction: 'sum' })));
  const columns = manifest.features.map((c) => `"${c}"`).join(', ');
  const [diff] = typeof floorS !== 'number' ? [{ n: null }] : await engine.all(`SELECT count(*)::INTEGER AS n FROM (
    (SELECT row_number() OVER () AS r, ${columns} FROM read_parquet('${sluiceOut}')) EXCEPT ALL (SELECT row_number() OVER () AS r, ${columns} FROM read_parquet('${floorOut}')))`);
  // fsum is not always correctly rounded: compare everything else exactly, and sums to 1 ulp-ish.
  const others = manifest.features.filter((c) => !/__(sum|avg)_/.test(c)).map((c) => `"${c}"`).join(', ');
  const [diffOthers] = typeof floorS !== 'number' ? [{ n: null }] : await engine.all(`SELECT count(*)::INTEGER AS n FROM (
    (SELECT row_number() OVER () AS r, ${others} FROM read_parquet('${sluiceOut}')) EXCEPT ALL (SELECT row_number() OVER () AS r, ${others} FROM read_parquet('${floorOut}')))`);
  results.datasetBuild = {
    spineRows: manifest.rowCount, events: txns.accepted, features: manifest.features.length,
    seconds: buildS, rowsPerSecond: Math.round(manifest.rowCount / buildS),
    floorSeconds: floorS, ratioToFloor: typeof floorS === 'number' ? buildS / floorS : null, target: '<= 1.2x the floor',
    rowsDifferingFromFloor: diff.n,
    rowsDifferingOutsideSums: diffOthers.n,
    plainSumSeconds: looseS, ratioToPlainSum: typeof looseS === 'number' ? buildS / looseS : null,
  };
  log(`  sluice ${buildS.toFixed(2)} s, floor ${JSON.stringify(floorS)}, unordered ${JSON.stringify(looseS)}, differing rows ${diff.n}`);
}
await platform.close();

if (config.serving) results.serving = await benchServing({ dir, entities: config.entities, duration: config.duration, features: 50 });

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
