// Dataset build and snapshot scan on a stream source of many micro-batch files, against the same
// source compacted (issue 6 §4), measured in one run: the source's events are pushed and committed
// one micro-batch at a time (one Parquet file each), then compacted; both snapshots stay readable
// (the older one lists the micro-batch files), so each round builds the same dataset pinned to
// either snapshot, in alternating order, and scans each snapshot's files. Checks the two datasets
// are byte-identical. Reports medians and the ratio compacted / micro-batches per round.
//   node bench/compaction.js [--batches 1000] [--events 100] [--entities 2000] [--rounds 7] [--out FILE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const batches = Number(opt('batches', 1000));
const perBatch = Number(opt('events', 100));
const entities = Number(opt('entities', 2000));
const rounds = Number(opt('rounds', 7));
const dist = resolve(here, '..', 'dist');
const git = (...a) => execFileSync('git', a, { cwd: resolve(here, '..'), encoding: 'utf8' }).trim();
const commit = { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
const load = async (module) => import(pathToFileURL(join(dist, module)).href);
const { openPlatform } = await load('platform.js');
const { defineProject, compileProject, entity, streamSource, featureView, count, sum } = await load('definitions/index.js');
const { startStreamRuntime } = await load('streaming/stream-runtime.js');
const { compactSource } = await load('orchestration/compact-lake.js');
const { buildDataset } = await load('serving/datasets/build-dataset.js');

const user = entity({ name: 'user', joinKey: 'k' });
const events = streamSource({ name: 'events', schema: { id: 'string', k: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'id' });
const stats = featureView({ name: 'stats', entity: user, source: events, features: { n: count(), total: sum('amount'), n_1h: count({ window: '1h' }) } });
const spec = defineProject({ name: 'bench', entities: [user], sources: [events], featureViews: [stats] });

const dir = mkdtempSync(join(tmpdir(), 'sluice-compaction-'));
const T0 = Date.parse('2026-03-01T00:00:00Z');
const clock = { now: T0 };
const platform = openPlatform({ projectDir: dir, now: () => clock.now, projectSpec: spec });
const project = compileProject(spec);
await platform.metadata.recordRegistry(project);
const runtime = await startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000, compaction: false });
const loadBefore = loadavg();
const pushStarted = performance.now();
for (let b = 0; b < batches; b++) {
  clock.now += 1_000;
  const texts = Array.from({ length: perBatch }, (_, i) => JSON.stringify({ id: `e${b}-${i}`, k: `u${(b * perBatch + i) % entities}`, amount: (b + i) % 97, ts: new Date(clock.now - 500 - i).toISOString() }));
  await runtime.processor.append('events', { texts }, 'push');
  await runtime.commitNow();
}
const pushMs = performance.now() - pushStarted;
await runtime.close();
const spine = join(dir, 'spine.csv');
writeFileSync(spine, `k,ts\n${Array.from({ length: entities }, (_, i) => `u${i},${new Date(T0 + ((i % 10) + 1) * (batches * 100)).toISOString()}`).join('\n')}\n`);

const before = await platform.metadata.latestSnapshot('events');
const compactStarted = performance.now();
const report = await compactSource(platform, project, 'events', { policy: { minFiles: 2, maxFiles: batches + 1 } });
const compactMs = performance.now() - compactStarted;
const after = await platform.metadata.latestSnapshot('events');
const engine = await platform.engine();
const scan = async (snapshot) => {
  const files = snapshot.files.map((f) => `'${platform.lake.resolve(f)}'`).join(', ');
  const t = performance.now();
  await engine.all(`SELECT k, count(*) AS n, sum(amount) AS total FROM read_parquet([${files}]) GROUP BY k`);
  return performance.now() - t;
};
const build = async (snapshot, out) => {
  const t = performance.now();
  await buildDataset(platform, project, { spine, features: ['stats:n', 'stats:total', 'stats:n_1h'], out, snapshots: { events: snapshot.id } });
  return performance.now() - t;
};
const results = [];
for (let r = 0; r < rounds; r++) {
  // Alternating order: round r measures micro-batches first when r is even.
  const order = r % 2 === 0 ? [['many', before], ['compacted', after]] : [['compacted', after], ['many', before]];
  const row = { round: r };
  for (const [name, snapshot] of order) {
    row[`${name}BuildMs`] = await build(snapshot, join(dir, `${name}.csv`));
    row[`${name}ScanMs`] = await scan(snapshot);
  }
  row.buildRatio = row.compactedBuildMs / row.manyBuildMs;
  row.scanRatio = row.compactedScanMs / row.manyScanMs;
  results.push(row);
}
const same = readFileSync(join(dir, 'many.csv'), 'utf8') === readFileSync(join(dir, 'compacted.csv'), 'utf8');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = {
  commit, at: new Date().toISOString(), loadavg: { before: loadBefore, after: loadavg() },
  setup: { batches, eventsPerBatch: perBatch, events: batches * perBatch, entities, spineRows: entities, rounds, pushAndCommitMs: Math.round(pushMs) },
  compaction: { ms: Math.round(compactMs), filesBefore: before.files.length, filesAfter: after.files.length, bytesBefore: report.bytesBefore, bytesAfter: report.bytesAfter },
  datasetsIdentical: same,
  medians: {
    manyBuildMs: median(results.map((r) => r.manyBuildMs)), compactedBuildMs: median(results.map((r) => r.compactedBuildMs)), buildRatio: median(results.map((r) => r.buildRatio)),
    manyScanMs: median(results.map((r) => r.manyScanMs)), compactedScanMs: median(results.map((r) => r.compactedScanMs)), scanRatio: median(results.map((r) => r.scanRatio)),
  },
  rounds: results,
};
console.log(JSON.stringify(summary, null, 2));
const out = opt('out', undefined);
if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
await platform.close();
rmSync(dir, { recursive: true, force: true });
