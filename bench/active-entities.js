// `node bench/active-entities.js [--entities 1000000] [--per-entity 3] [--out FILE]`: memory
// per active entity at 1M active entities (issue 6 §7), exact (`window: '30d'`) and hopped
// (`window: '30d', hop: '1h'`) windows, with the view of `bench/state-size.js`. For each window
// kind, a child process writes the events (each entity `--per-entity` events in the 30 days
// before `asOf`), ingests them and materializes the view into the online store (LMDB; the same
// per-entity state the incremental path updates), then reads every entity's state back. Reports
// the LMDB bytes per entity (encoded keys + values; B-tree pages in use), the writer's peak RSS,
// and the RSS of a fresh reader process after reading every entity, with the commit measured.
// Needs `npm run build` first (it runs the built dist/).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asOf, config, eventsSql, storeBytes } from './state-project.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const entities = Number(opt('entities', 1_000_000));
const perEntity = Number(opt('per-entity', 3));
const log = (line) => process.stderr.write(`${line}\n`);
const MiB = 2 ** 20;
const keyOf = (e) => `c${String(e).padStart(7, '0')}`;

/** In a child: writes, ingests and materializes the events of one window kind into `dir`. */
async function write(dir, hop) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { loadProject } = await import('../dist/config/load-project.js');
  const { ingestFile } = await import('../dist/ingest/ingest-file.js');
  const { openPlatform } = await import('../dist/platform.js');
  const { materialize } = await import('../dist/processing/materialize.js');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sluice.config.ts'), config(hop));
  const file = join(dir, 'events.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`COPY (${eventsSql(entities, perEntity)}) TO '${file}' (FORMAT PARQUET)`);
  connection.closeSync();
  instance.closeSync();
  const platform = openPlatform({ projectDir: dir, now: () => asOf });
  const project = await loadProject(dir);
  await platform.metadata.recordRegistry(project);
  await ingestFile(platform, project, 'transactions', file);
  const started = performance.now();
  const [view] = (await materialize(platform, project, { asOf })).views;
  const seconds = (performance.now() - started) / 1000;
  await platform.close();
  rmSync(file, { force: true });
  return { entities: view.entities, retainedEvents: view.retainedEvents, materializeSeconds: Number(seconds.toFixed(1)), writerPeakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

/** In a fresh child: reads every entity's state (decoded), and reports the RSS then. */
async function read(dir) {
  const { openPlatform } = await import('../dist/platform.js');
  const platform = openPlatform({ projectDir: dir, now: () => asOf });
  const store = await platform.online();
  const rssBefore = process.memoryUsage().rss;
  let found = 0;
  let retained = 0;
  const started = performance.now();
  for (let from = 0; from < entities; from += 10_000) {
    const keys = Array.from({ length: Math.min(10_000, entities - from) }, (_, i) => keyOf(from + i));
    for (const state of (await store.read('txn', keys)).states) {
      if (state === undefined) continue;
      found++;
      retained += state.ts.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const rss = process.memoryUsage().rss;
  await platform.close();
  return { entitiesRead: found, retainedEventsRead: retained, readSeconds: Number(seconds.toFixed(1)), readerRssBeforeMiB: Math.round(rssBefore / MiB), readerRssAfterReadingAllMiB: Math.round(rss / MiB) };
}

function child(step, dir, hop) {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', step, '--dir', dir, '--hop', hop ? '1' : '0', '--entities', String(entities), '--per-entity', String(perEntity)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (run.status !== 0) throw new Error(`${step} (${hop ? 'hopped' : 'exact'}) exited with ${run.status}`);
  return JSON.parse(run.stdout);
}

const step = opt('child', undefined);
if (step !== undefined) {
  const dir = opt('dir', '');
  const result = step === 'write' ? await write(dir, opt('hop', '0') === '1') : await read(dir);
  process.stdout.write(JSON.stringify(result));
} else {
  const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
  const report = {
    commit: { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)bench/results') !== '' },
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    at: new Date().toISOString(),
    asOf: new Date(asOf).toISOString(),
    entities, eventsPerEntity: perEntity,
    note: 'bytesPerEntity: encoded keys + values of every LMDB entry / entities; pageBytesPerEntity: B-tree pages in use / entities; RSS includes the LMDB pages mapped and touched',
    results: [],
  };
  for (const hop of [false, true]) {
    const dir = join(here, '.work', `active-entities-${hop ? 'hop' : 'exact'}`);
    log(`${entities} entities x ${perEntity} events, ${hop ? 'hopped' : 'exact'} window: write...`);
    const written = child('write', dir, hop);
    const bytes = storeBytes(join(dir, '.sluice', 'online'));
    log(`  ${JSON.stringify(written)}; read...`);
    const readBack = child('read', dir, hop);
    const result = {
      window: hop ? '30d hop 1h' : '30d', ...written,
      bytesPerEntity: Math.round((bytes.keyBytes + bytes.valueBytes) / written.entities),
      pageBytesPerEntity: Math.round(bytes.pageBytes / written.entities),
      onlineStoreMiB: Math.round(bytes.pageBytes / MiB),
      ...readBack, loadAverage: loadavg()[0],
    };
    log(`  ${JSON.stringify(result)}`);
    report.results.push(result);
    rmSync(dir, { recursive: true, force: true });
  }
  const out = opt('out', undefined);
  if (out !== undefined) writeFileSync(resolve(out), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
