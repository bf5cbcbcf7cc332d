// `node bench/row-transforms.js` (after `npm run build`): what a view's row transforms (a filter
// and derived columns) cost, against the same features of the same rows without them, measured
// in the same run over the same lake. Options:
//   --events N (1_000_000)  --entities N (10_000)  --spine N (100_000)  --seconds S (3, per serving figure)  --rounds N (5)
// Builds alternate between the two services; the ratios are of medians, in wall time and in the
// process's CPU time (DuckDB's threads included), which other work on a shared machine moves less.
// The shaped view's filter keeps every row (generated amounts are >= 0 or NULL, and NULL rows are
// kept by `OR amount IS NULL`), so both views aggregate the same rows and the ratio is the transforms' cost.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/load-project.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { materialize } from '../dist/processing/materialize.js';
import { openPlatform } from '../dist/platform.js';
import { buildDataset } from '../dist/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../dist/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../dist/serving/online-features.js';
import { stringifyExact } from '../dist/serving/exact-json.js';
import { generateBenchData } from './generate.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const events = opt('events', 1_000_000);
const entities = opt('entities', 10_000);
const spineRows = opt('spine', 100_000);
const seconds = opt('seconds', 3);
const rounds = opt('rounds', 5);
const log = (line) => process.stderr.write(`${line}\n`);

const CONFIG = `import { defineProject, entity, batchSource, featureView, featureService, count, sum, max, last } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', timestamp: 'ts',
  schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' } });
const features = (amount, merchant) => ({
  n_1h: count({ window: '1h' }), n_24h: count({ window: '24h' }), sum_1h: sum(amount, { window: '1h' }), sum_24h: sum(amount, { window: '24h' }),
  sum_7d: sum(amount, { window: '7d' }), max_7d: max(amount, { window: '7d' }), last_amount: last(amount), last_merchant: last(merchant),
});
const plain = featureView({ name: 'plain', entity: customer, source: transactions, features: features('amount', 'merchant') });
const shaped = featureView({ name: 'shaped', entity: customer, source: transactions,
  filter: "amount >= 0 OR amount IS NULL OR merchant LIKE 'm%'",
  columns: { amount_usd: { type: 'float64', sql: 'round(amount * 1.0825, 2)' }, shop: { type: 'string', sql: "upper(merchant) || '-' || length(merchant)" } },
  features: features('amount_usd', 'shop') });
export default defineProject({ name: 'rows', entities: [customer], sources: [transactions], featureViews: [plain, shaped],
  featureServices: [featureService({ name: 'plain', features: [plain] }), featureService({ name: 'shaped', features: [shaped] })] });
`;

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-rows-'));
mkdirSync(join(dir, 'data'), { recursive: true });
writeFileSync(join(dir, 'sluice.config.ts'), CONFIG);
const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
const commit = { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
const end = Math.floor(Date.now() / 60_000) * 60_000;
try {
  const project = await loadProject(dir);
  const platform = openPlatform({ projectDir: dir, now: () => end });
  await platform.metadata.recordRegistry(project);
  const files = await generateBenchData(await platform.engine(), { dir: join(dir, 'data'), events, entities, spineRows, end });
  await ingestFile(platform, project, 'transactions', files.transactions);
  log('materializing...');
  const materializeMs = {};
  for (const view of ['plain', 'shaped']) {
    const started = performance.now();
    await materialize(platform, project, { views: [view] });
    materializeMs[view] = Math.round(performance.now() - started);
  }
  const build = {};
  const buildCpu = {};
  for (let round = 0; round < rounds; round++) {
    for (const service of round % 2 === 0 ? ['plain', 'shaped'] : ['shaped', 'plain']) {
      const started = performance.now();
      const cpu = process.cpuUsage();
      await buildDataset(platform, project, { spine: files.spine, out: join(dir, `${service}-${round}.parquet`), service });
      const used = process.cpuUsage(cpu);
      (build[service] ??= []).push(performance.now() - started);
      (buildCpu[service] ??= []).push((used.user + used.system) / 1000);
      log(`dataset build ${service}: ${Math.round(build[service].at(-1))} ms, ${Math.round(buildCpu[service].at(-1))} ms CPU`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const store = await platform.online();
  const latest = await latestSnapshots(platform.metadata, project);
  const keys = (n) => Array.from({ length: n }, (_, i) => `c${String((17 + i * 7919) % entities).padStart(7, '0')}`);
  /** Mean CPU ms per answered and serialized request, after a warm-up (CPU, not wall time: a shared machine moves it less). */
  async function serve(service, count) {
    const request = { service, entities: { customer_id: keys(count) } };
    const once = async () => stringifyExact(await getOnlineFeatures(project, store, request, end, latest));
    for (let i = 0; i < 200; i++) await once();
    let n = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    while (performance.now() - started < seconds * 1000) {
      await once();
      n++;
    }
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000 / n;
  }
  const serving = {};
  for (const count of [1, 100]) {
    const plainMs = await serve('plain', count);
    const shapedMs = await serve('shaped', count);
    serving[`entities${count}`] = { plainCpuMs: Number(plainMs.toFixed(4)), shapedCpuMs: Number(shapedMs.toFixed(4)), ratio: Number((shapedMs / plainMs).toFixed(3)) };
  }
  await platform.close();
  const result = {
    commit, at: new Date().toISOString(), events, entities, spineRows,
    materializeMs, materializeRatio: Number((materializeMs.shaped / materializeMs.plain).toFixed(3)),
    datasetBuildMs: { plain: Math.round(median(build.plain)), shaped: Math.round(median(build.shaped)) },
    datasetBuildRatio: Number((median(build.shaped) / median(build.plain)).toFixed(3)),
    datasetBuildCpuMs: { plain: Math.round(median(buildCpu.plain)), shaped: Math.round(median(buildCpu.shaped)) },
    datasetBuildCpuRatio: Number((median(buildCpu.shaped) / median(buildCpu.plain)).toFixed(3)),
    serving,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
