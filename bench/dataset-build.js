// Reruns ONLY the dataset build on an existing bench directory (made by `npm run bench`) and
// reports wall time, CPU time (user + system of the whole process: DuckDB's threads included; and
// of the main thread alone, `mainThreadCpuMs`, from /proc, 10 ms ticks),
// peak RSS and the commit measured; then checks the output equals a reference parquet exactly
// (every column, row order included: EXCEPT ALL both ways over (row number, columns)).
//   node bench/dataset-build.js --dir bench/.work [--dist dist] [--reference bench/.work/train.parquet]
//        [--spine FILE] [--service all] [--out FILE] [--floor]   (--reference none: no check)
// `--dist` runs another build of Sluice (say main's, built in a scratch directory) on the same data,
// so that before/after runs can alternate. `--floor` times `bench/floor-query.js` instead of Sluice.
// Writes only the output file (default: a fresh temporary directory) and the bench directory's
// metadata (the build's run and dataset records).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { floorQuery } from './floor-query.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const dir = resolve(opt('dir', join(here, '.work')));
const dist = resolve(opt('dist', join(here, '..', 'dist')));
const reference = opt('reference', join(dir, 'train.parquet'));
const spine = resolve(opt('spine', join(dir, 'data', 'spine.parquet')));
const scratch = mkdtempSync(join(tmpdir(), 'sluice-build-'));
const out = resolve(opt('out', join(scratch, 'train.parquet')));
const floor = args.includes('--floor');

const git = (cwd, ...a) => execFileSync('git', a, { cwd, encoding: 'utf8' }).trim();
const distRoot = resolve(dist, '..');
const commit = { sha: git(distRoot, 'rev-parse', 'HEAD'), dirty: git(distRoot, 'status', '--porcelain', '--untracked-files=no') !== '' };
const load = async (module) => import(pathToFileURL(join(dist, module)).href);
const { loadProject } = await load('config/load-project.js');
const { openPlatform } = await load('platform.js');
const { buildDataset } = await load('serving/datasets/build-dataset.js');

const platform = openPlatform({ projectDir: dir });
const project = await loadProject(dir);
// CPU time of the main thread alone (JavaScript and what it calls synchronously), from /proc:
// the rest of the process's CPU time is DuckDB's worker threads.
const mainThreadMs = () => {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
};
const loadBefore = loadavg();
const mainBefore = mainThreadMs();
const cpu = process.cpuUsage();
const started = performance.now();
let rows;
const stages = [];
if (floor) {
  const engine = await platform.engine();
  const files = async (source) => (await platform.metadata.latestSnapshot(source)).files.map((f) => platform.lake.resolve(f));
  await engine.run(floorQuery({ spine, txnFiles: await files('transactions'), customerFiles: await files('customers'), out }));
} else {
  const onProgress = (done, total) => stages.push({ done, total, ms: Math.round(performance.now() - started) });
  rows = (await buildDataset(platform, project, { spine, service: opt('service', 'all'), out, onProgress })).rowCount;
}
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
const mainCpuMs = mainThreadMs() - mainBefore;
const peakRssMiB = process.resourceUsage().maxRSS / 1024;

let differing = null;
if (reference !== 'none' && !floor) {
  const engine = await platform.engine();
  const numbered = (file) => `SELECT row_number() OVER () AS _r, * FROM read_parquet('${file}')`;
  const [{ a, b, n, m }] = await engine.all(`SELECT
    (SELECT count(*) FROM (${numbered(out)} EXCEPT ALL ${numbered(resolve(reference))}))::INTEGER AS a,
    (SELECT count(*) FROM (${numbered(resolve(reference))} EXCEPT ALL ${numbered(out)}))::INTEGER AS b,
    (SELECT count(*) FROM read_parquet('${out}'))::INTEGER AS n,
    (SELECT count(*) FROM read_parquet('${resolve(reference)}'))::INTEGER AS m`);
  const [{ same }] = await engine.all(`SELECT (SELECT list(column_name || ' ' || column_type) FROM (DESCRIBE SELECT * FROM read_parquet('${out}')))
    = (SELECT list(column_name || ' ' || column_type) FROM (DESCRIBE SELECT * FROM read_parquet('${resolve(reference)}'))) AS same`);
  differing = { onlyInOutput: a, onlyInReference: b, rows: n, referenceRows: m, sameColumns: same };
}
await platform.close();
rmSync(scratch, { recursive: true, force: true });

const result = {
  what: floor ? 'floor' : 'sluice', commit, dist, at: new Date().toISOString(), loadAverage: { before: loadBefore, after: loadavg() },
  rows, wallMs: Math.round(wallMs), cpuMs: Math.round((used.user + used.system) / 1000), mainThreadCpuMs: Math.round(mainCpuMs), peakRssMiB: Math.round(peakRssMiB), stages, differing,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
if (differing && (differing.onlyInOutput !== 0 || differing.onlyInReference !== 0 || differing.rows !== differing.referenceRows || !differing.sameColumns)) process.exitCode = 1;
