// Many views against one (issue 5 §10): (a) `views` views, each over its own source of `rows`
// events, entity keys shared, a few windowed features each; (b) one view over one source of
// views x rows events (the ten sources' rows, concatenated) with the same features; same spine.
//   node bench/many-views.js setup --dir DIR [--rows 500000] [--views 10] [--entities 100000] [--spine 1000000]
//   node bench/many-views.js build --dir DIR --case ten|one [--dist DIST] [--reference FILE|none] [--out FILE]
// `setup` generates the data with DuckDB and ingests it into two projects (DIR/ten, DIR/one).
// `build` runs one build in this process and prints one JSON line: wall, CPU (user + system of
// the whole process, DuckDB's threads included), peak RSS (VmHWM), the stages, the commit of the
// build it ran (`--dist`: another checkout's dist/, to alternate main and a change on the same
// data), and whether the output equals `--reference` exactly (row order included).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [command, ...args] = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const dir = resolve(opt('dir', join(here, '.work-many')));
const dist = resolve(opt('dist', join(here, '..', 'dist')));
const load = async (module) => import(pathToFileURL(join(dist, module)).href);
const u = (expr, salt) => `(hash(${expr}, '${salt}') % 1000000007) / 1000000007.0`;
const FEATURES = `{ count_1h: count({ window: '1h' }), sum_24h: sum('amount', { window: '24h' }), max_7d: max('amount', { window: '7d' }) }`;

/** A project of `names.length` views, view i over source `names[i]`. */
function projectConfig(names) {
  const sources = names.map((n) => `const ${n} = batchSource({ name: '${n}', timestamp: 'ts', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' } });`);
  const views = names.map((n, i) => `const v${i} = featureView({ name: 'v_${n}', entity: customer, source: ${n}, features: ${FEATURES} });`);
  const list = names.map((_, i) => `v${i}`).join(', ');
  return `import { defineProject, entity, batchSource, featureView, featureService, count, sum, max } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
${sources.join('\n')}
${views.join('\n')}
export default defineProject({ name: 'many', entities: [customer], sources: [${names.join(', ')}], featureViews: [${list}],
  featureServices: [featureService({ name: 'all', features: [${list}] })] });
`;
}

if (command === 'setup') {
  const rows = Number(opt('rows', 500_000));
  const views = Number(opt('views', 10));
  const entities = Number(opt('entities', 100_000));
  const spineRows = Number(opt('spine', 1_000_000));
  const { loadProject } = await load('config/load-project.js');
  const { openPlatform } = await load('platform.js');
  const { ingestFile } = await load('ingest/ingest-file.js');
  rmSync(dir, { recursive: true, force: true });
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const span = 30 * 86_400_000;
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const start = end - span;
  const names = Array.from({ length: views }, (_, i) => `events_${i}`);
  const projects = { ten: names, one: ['events_all'] };
  for (const [name, sources] of Object.entries(projects)) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'sluice.config.ts'), projectConfig(sources));
  }
  const ten = openPlatform({ projectDir: join(dir, 'ten') });
  const engine = await ten.engine();
  for (const [i, n] of names.entries()) {
    await engine.run(`COPY (SELECT printf('c%07d', floor(pow(${u('i', `c${i}`)}, 1.2) * ${entities})::INT) AS customer_id,
      CASE WHEN ${u('i', `n${i}`)} < 0.02 THEN NULL ELSE round(exp(1 + 3 * ${u('i', `a${i}`)}), 2) END AS amount,
      epoch_ms(${start} + floor(${u('i', `t${i}`)} * ${span})::BIGINT) AS ts FROM range(${rows}) r(i)) TO '${data}/${n}.parquet' (FORMAT PARQUET)`);
  }
  await engine.run(`COPY (SELECT * FROM read_parquet([${names.map((n) => `'${data}/${n}.parquet'`).join(', ')}])) TO '${data}/events_all.parquet' (FORMAT PARQUET)`);
  await engine.run(`COPY (SELECT printf('c%07d', floor(pow(${u('i', 'sc')}, 1.2) * ${entities})::INT) AS customer_id,
    epoch_ms(${start + 7 * 86_400_000} + floor(${u('i', 'st')} * ${span - 7 * 86_400_000})::BIGINT) AS ts
    FROM range(${spineRows}) r(i)) TO '${data}/spine.parquet' (FORMAT PARQUET)`);
  for (const [name, sources] of Object.entries(projects)) {
    const platform = name === 'ten' ? ten : openPlatform({ projectDir: join(dir, name) });
    const project = await loadProject(join(dir, name));
    await platform.metadata.recordRegistry(project);
    for (const s of sources) await ingestFile(platform, project, s, join(data, `${s}.parquet`));
    await platform.close();
  }
  for (const s of [...names, 'events_all']) rmSync(join(data, `${s}.parquet`));
  process.stdout.write(`${JSON.stringify({ setup: { dir, rows, views, entities, spineRows } })}\n`);
} else if (command === 'build') {
  const which = opt('case', 'ten');
  const projectDir = join(dir, which);
  const git = (cwd, ...a) => execFileSync('git', a, { cwd, encoding: 'utf8' }).trim();
  const distRoot = resolve(dist, '..');
  // A dist/ outside a checkout (main's, exported with `git archive`) names its commit with --commit.
  const commit = opt('commit', undefined) !== undefined ? { sha: opt('commit'), dirty: false }
    : { sha: git(distRoot, 'rev-parse', 'HEAD'), dirty: git(distRoot, 'status', '--porcelain', '--untracked-files=no') !== '' };
  const { loadProject } = await load('config/load-project.js');
  const { openPlatform } = await load('platform.js');
  const { buildDataset } = await load('serving/datasets/build-dataset.js');
  const scratch = mkdtempSync(join(tmpdir(), 'sluice-many-'));
  const out = resolve(opt('out', join(scratch, 'train.parquet')));
  const platform = openPlatform({ projectDir });
  const project = await loadProject(projectDir);
  const loadBefore = loadavg();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const stages = [];
  const memory = () => Object.fromEntries([...readFileSync('/proc/self/status', 'utf8').matchAll(/(VmRSS|VmHWM):\s+(\d+)/g)].map((m) => [m[1] === 'VmRSS' ? 'rssMiB' : 'hwmMiB', Math.round(Number(m[2]) / 1024)]));
  const onProgress = (done, total) => stages.push({ done, total, ms: Math.round(performance.now() - started), ...memory() });
  const rows = (await buildDataset(platform, project, { spine: join(dir, 'data', 'spine.parquet'), service: 'all', out, onProgress })).rowCount;
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const vmHwmMiB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
  const reference = opt('reference', 'none');
  let differing = null;
  if (reference !== 'none') {
    const engine = await platform.engine();
    const numbered = (file) => `SELECT row_number() OVER () AS _r, * FROM read_parquet('${file}')`;
    const [{ a, b, n, m }] = await engine.all(`SELECT
      (SELECT count(*) FROM (${numbered(out)} EXCEPT ALL ${numbered(resolve(reference))}))::INTEGER AS a,
      (SELECT count(*) FROM (${numbered(resolve(reference))} EXCEPT ALL ${numbered(out)}))::INTEGER AS b,
      (SELECT count(*) FROM read_parquet('${out}'))::INTEGER AS n, (SELECT count(*) FROM read_parquet('${resolve(reference)}'))::INTEGER AS m`);
    const [{ same }] = await engine.all(`SELECT (SELECT list(column_name || ' ' || column_type) FROM (DESCRIBE SELECT * FROM read_parquet('${out}')))
      = (SELECT list(column_name || ' ' || column_type) FROM (DESCRIBE SELECT * FROM read_parquet('${resolve(reference)}'))) AS same`);
    differing = { onlyInOutput: a, onlyInReference: b, rows: n, referenceRows: m, sameColumns: same };
  }
  await platform.close();
  if (opt('out', undefined) === undefined) rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({
    case: which, commit, dist, at: new Date().toISOString(), loadAverage: { before: loadBefore, after: loadavg() }, rows,
    wallMs: Math.round(wallMs), cpuMs: Math.round((used.user + used.system) / 1000), peakRssMiB: Math.round(vmHwmMiB), stages, differing,
  })}\n`);
  if (differing && (differing.onlyInOutput !== 0 || differing.onlyInReference !== 0 || differing.rows !== differing.referenceRows || !differing.sameColumns)) process.exitCode = 1;
} else {
  process.stderr.write('usage: node bench/many-views.js setup|build --dir DIR ...\n');
  process.exitCode = 2;
}
