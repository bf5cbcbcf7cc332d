// `node bench/state-size.js [--sizes 10,1000,100000] [--events-per-size 1000000] [--out FILE]`:
// the online state per active entity, as stored: for each size n (events per entity in the
// longest window, 30d) and each window kind (exact `window: '30d'`, hopped `window: '30d',
// hop: '1h'`), a fresh project whose entities each have n events spread over the 30 days before
// `asOf`, materialized at `asOf`; then the online store (LMDB) is opened read-only and measured:
// the encoded bytes of every entry (keys and values) and the pages its B-tree uses, divided by
// the number of entities. Also times serving (read + evaluate) per entity, and, for the hopped
// window, projects the state a tiled layout would store (one accumulator snapshot per hop and
// slot, plus the raw events of the current hop), encoded as the store encodes (msgpack), by
// slot kind. Reports JSON with the git commit measured. Needs `npm run build` first (it runs
// the built dist/).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { createAccumulators, viewPlan } from '../dist/processing/feature-plan.js';
import { floorToHop, windowAt } from '../dist/time/index.js';
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
const packr = new Packr({ moreTypes: true });
const firstAtOrAfter = (ts, bound) => {
  let i = 0;
  while (i < ts.length && ts[i] < bound) i++;
  return i;
};
const sliceColumn = (c, from) =>
  c instanceof Float64Array ? c.slice(from) : c.codes ? { dict: c.dict, codes: c.codes.slice(from) } : { hi: c.hi.slice(from), lo: c.lo && c.lo.slice(from) };

/**
 * What a tiled state of `state` would encode to (a projection: the store keeps raw events
 * today): per hopped slot, one snapshot per non-empty hop of the window at `asOf`, with the hop's
 * start and newest event time; raw events only from the earliest exact-window start or current
 * hop; the base as today. Returns the total and the tiles' bytes per slot kind.
 */
function tiledBytes(view, state, asOf) {
  const plan = viewPlan(view);
  const accumulators = createAccumulators(plan, { ts: state.ts, columns: state.columns });
  let keepFrom = asOf;
  const byKind = {};
  const tiles = plan.slots.map((slot, s) => {
    if (slot.windowMs === undefined) return null;
    if (slot.hopMs === undefined) {
      keepFrom = Math.min(keepFrom, windowAt(asOf, slot.windowMs).start);
      return null;
    }
    const head = floorToHop(asOf, slot.hopMs);
    keepFrom = Math.min(keepFrom, head);
    const starts = [];
    const newest = [];
    const states = [];
    let i = firstAtOrAfter(state.ts, windowAt(asOf, slot.windowMs, slot.hopMs).start);
    while (i < state.ts.length && state.ts[i] < head) {
      const tile = floorToHop(state.ts[i], slot.hopMs);
      let j = i;
      while (j < state.ts.length && state.ts[j] < tile + slot.hopMs) j++;
      accumulators[s].reset();
      accumulators[s].addRange(i, j);
      starts.push(tile);
      newest.push(state.ts[j - 1]);
      states.push(accumulators[s].snapshot());
      i = j;
    }
    const slotTiles = { starts: Float64Array.from(starts), newest: Float64Array.from(newest), states };
    byKind[slot.factory.kind] = (byKind[slot.factory.kind] ?? 0) + packr.pack(slotTiles).length;
    return slotTiles;
  });
  const from = firstAtOrAfter(state.ts, keepFrom);
  const tiled = { horizon: keepFrom, base: state.base, ts: state.ts.slice(from), columns: state.columns.map((c) => sliceColumn(c, from)), tiles };
  return { total: packr.pack(tiled).length, byKind, rawEvents: state.ts.length - from };
}

async function measure(dir, file, perEntity, entities, hop) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sluice.config.ts'), config(hop));
  const platform = openPlatform({ projectDir: dir, now: () => asOf });
  const project = await loadProject(dir);
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
  const encoded = states.reduce((n, state) => n + packr.pack(state).length, 0) / keys.length;
  const projections = hop ? states.map((state) => tiledBytes(project.featureViews[0], state, asOf)) : [];
  const average = (f) => Math.round(projections.reduce((n, p) => n + f(p), 0) / projections.length);
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
    // The state alone, msgpack-encoded as the store encodes it (checks the method of the projection).
    encodedStateBytesPerEntity: Math.round(encoded),
    ...(hop
      ? {
          projectedTiled: {
            bytesPerEntity: average((p) => p.total),
            rawEventsPerEntity: average((p) => p.rawEvents),
            tileBytesPerEntityBySlotKind: Object.fromEntries(Object.keys(projections[0].byKind).map((k) => [k, average((p) => p.byKind[k])])),
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
