// `node bench/state-size.js [--sizes 10,1000,100000] [--events-per-size 1000000] [--out FILE]`:
// the online state per active entity, as stored: for each size n (events per entity in the
// longest window, 30d) and each window kind (exact `window: '30d'`, hopped `window: '30d',
// hop: '1h'`), a fresh project whose entities each have n events spread over the 30 days before
// `asOf`, materialized at `asOf`; then the online store (LMDB) is opened read-only and measured:
// the encoded bytes of every entry (keys and values) and the pages its B-tree uses, divided by
// the number of entities. Also times serving (read + evaluate) per entity, and, for the hopped
// window, the tiles the states hold (the share of entities tiled, tiles per entity, and the bytes
// they add to the encoded state, by slot kind; a hot entity keeps one accumulator snapshot per
// closed hop and slot plus the raw events of the open hop). Reports JSON with the git commit
// measured. Needs `npm run build` first (it runs the built dist/).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { viewPlan } from '../dist/processing/feature-plan.js';
import { encodeEntityState } from '../dist/storage/online/lmdb/entity-state-codec.js';
import { loadProject } from '../dist/config/load-project.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { openPlatform } from '../dist/platform.js';
import { materialize } from '../dist/processing/materialize.js';
import { latestSnapshots } from '../dist/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../dist/serving/online-features.js';
import { asOf, config, eventsSql, storeBytes } from './state-project.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const sizes = opt('sizes', '10,1000,100000').split(',').map(Number);
const eventsPerSize = Number(opt('events-per-size', 1_000_000));
const log = (line) => process.stderr.write(`${line}\n`);

/** A hopped state's tiles: how many, and the bytes they add to the stored state. */
function tileFigures(state) {
  if (state.tiles === undefined) return { tiled: 0, tiles: 0, tileBytes: 0, byKind: {} };
  const plan = viewPlan(project().featureViews[0]);
  const byKind = {};
  let tiles = 0;
  state.tiles.slots.forEach((slot, s) => {
    if (slot === null) return;
    tiles += slot.starts.length;
    const alone = { asOf: state.tiles.asOf, slots: state.tiles.slots.map((other, k) => (k === s ? other : null)) };
    const kind = plan.slots[s].factory.kind;
    byKind[kind] = (byKind[kind] ?? 0) + encodeEntityState({ ...state, tiles: alone }).length - encodeEntityState({ ...state, tiles: undefined }).length;
  });
  return { tiled: 1, tiles, tileBytes: encodeEntityState(state).length - encodeEntityState({ ...state, tiles: undefined }).length, byKind };
}

let current;
const project = () => current;

async function measure(dir, file, perEntity, entities, hop) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sluice.config.ts'), config(hop));
  const platform = openPlatform({ projectDir: dir, now: () => asOf });
  const project = await loadProject(dir);
  current = project;
  await platform.metadata.recordRegistry(project);
  await ingestFile(platform, project, 'transactions', file);
  const [view] = (await materialize(platform, project, { asOf })).views;
  // Serving: read and evaluate every feature, a batch of entities at a time.
  const store = await platform.online();
  const latest = await latestSnapshots(platform.metadata, project);
  const keys = Array.from({ length: Math.min(entities, 100) }, (_, e) => `c${String(e).padStart(7, '0')}`);
  const request = { features: project.featureViews[0].features.map((f) => `txn:${f.name}`), entities: { customer_id: keys } };
  const rounds = Math.max(1, Math.min(50, Math.round(2_000_000 / (perEntity * keys.length))));
  for (let r = 0; r < rounds; r++) await getOnlineFeatures(project, store, request, asOf, latest);
  const started = performance.now();
  for (let r = 0; r < rounds; r++) await getOnlineFeatures(project, store, request, asOf, latest);
  const servingMicrosPerEntity = ((performance.now() - started) * 1000) / (rounds * keys.length);
  const { states } = await store.read('txn', keys);
  const encoded = states.reduce((n, state) => n + encodeEntityState(state).length, 0) / keys.length;
  const figures = hop ? states.map(tileFigures) : [];
  const average = (f) => Math.round(figures.reduce((n, p) => n + f(p), 0) / figures.length);
  await platform.close();
  const bytes = storeBytes(join(dir, '.sluice', 'online'));
  const per = (n) => Math.round(n / view.entities);
  return {
    window: hop ? '30d hop 1h' : '30d',
    eventsPerEntity: perEntity,
    entities: view.entities,
    retainedEventsPerEntity: view.retainedEvents / view.entities,
    bytesPerEntity: per(bytes.keyBytes + bytes.valueBytes),
    bytesPerRetainedEvent: Number(((bytes.keyBytes + bytes.valueBytes) / view.retainedEvents).toFixed(2)),
    pageBytesPerEntity: per(bytes.pageBytes),
    servingMicrosPerEntity: Number(servingMicrosPerEntity.toFixed(1)),
    // The state alone, as the store encodes it (`encodeEntityState`), over the entities served.
    encodedStateBytesPerEntity: Math.round(encoded),
    ...(hop
      ? {
          tiles: {
            tiledEntities: average((p) => p.tiled * 100) / 100,
            tilesPerEntity: average((p) => p.tiles),
            tileBytesPerEntity: average((p) => p.tileBytes),
            tileBytesPerEntityBySlotKind: Object.fromEntries(['count', 'sum', 'max', 'distinct'].map((k) => [k, average((p) => p.byKind[k] ?? 0)])),
          },
        }
      : {}),
  };
}

const work = join(here, '.work', 'state-size');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
const report = {
  commit: { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' },
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  at: new Date().toISOString(),
  asOf: new Date(asOf).toISOString(),
  note: 'bytes in the online store (LMDB) per active entity: encoded keys + values of every entry / entities; pageBytes: B-tree pages in use / entities',
  results: [],
};
const { DuckDBInstance } = await import('@duckdb/node-api');
for (const perEntity of sizes) {
  const entities = Math.max(10, Math.min(10_000, Math.floor(eventsPerSize / perEntity)));
  const file = join(work, `events-${perEntity}.parquet`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`COPY (${eventsSql(entities, perEntity)}) TO '${file}' (FORMAT PARQUET)`);
  connection.closeSync();
  instance.closeSync();
  for (const hop of [false, true]) {
    log(`${perEntity} events x ${entities} entities, ${hop ? 'hopped' : 'exact'} window...`);
    const result = await measure(join(work, `project-${perEntity}-${hop ? 'hop' : 'exact'}`), file, perEntity, entities, hop);
    log(`  ${JSON.stringify(result)}`);
    report.results.push(result);
  }
}
rmSync(work, { recursive: true, force: true });
const out = opt('out', undefined);
if (out !== undefined) writeFileSync(resolve(out), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
