// `node bench/erase.js [--sizes 1000000,3000000,10000000] [--batch 1000000] [--customers 100000]`:
// erasure of one subject (issue 9 §5) at growing lake sizes. For each size, a fresh project
// ingests the events in batches of `--batch` rows (one snapshot each, written as one file per
// entity-key bucket, ~256k rows a file; every customer appears in every batch, as in a real
// feed), then `purgeRows` erases one customer: one DuckDB scan of the files of the key's bucket
// finds the affected ones, each is rewritten without the rows and swapped in every snapshot in
// one metadata transaction. Reports the lake size, the files
// rewritten, rows removed and the wall time of the erasure. Needs `npm run build` first.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const sizes = opt('sizes', '1000000,3000000,10000000').split(',').map(Number);
const batch = Number(opt('batch', 1_000_000));
const customers = Number(opt('customers', 100_000));
const log = (line) => process.stderr.write(`${line}\n`);

const config = `import { defineProject, entity, batchSource, featureView, count } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
export default defineProject({ name: 'erase', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } })] });
`;

const { DuckDBInstance } = await import('@duckdb/node-api');
const { loadProject } = await import('../dist/config/load-project.js');
const { ingestFile } = await import('../dist/ingest/ingest-file.js');
const { openPlatform } = await import('../dist/platform.js');
const { purgeRows } = await import('../dist/compliance/purge/index.js');

const results = [];
for (const size of sizes) {
  const dir = join(tmpdir(), `sluice-erase-${size}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sluice.config.ts'), config);
  const project = await loadProject(dir);
  const platform = openPlatform({ projectDir: dir });
  await platform.metadata.recordRegistry(project);
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  const ingestStarted = performance.now();
  for (let start = 0; start < size; start += batch) {
    const file = join(dir, `batch-${start}.parquet`);
    const n = Math.min(batch, size - start);
    await duck.run(`COPY (SELECT 't' || (${start} + i) AS txn_id, 'c' || lpad(((${start} + i) * 7919 % ${customers})::VARCHAR, 7, '0') AS customer_id,
      ((i * 31) % 10000) / 100.0 AS amount, TIMESTAMP '2026-01-01' + to_milliseconds(((${start} + i) * 2591)::BIGINT % 2592000000) AS ts
      FROM range(${n}) r(i)) TO '${file}' (FORMAT PARQUET)`);
    await ingestFile(platform, project, 'txns', file);
    rmSync(file);
  }
  const ingestS = (performance.now() - ingestStarted) / 1000;
  const files = (await platform.metadata.latestSnapshot('txns')).files.length;
  const started = performance.now();
  const report = await purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c0000042'] }, reason: 'erasure', principal: { name: 'bench', roles: [], origin: 'local' } });
  const eraseS = (performance.now() - started) / 1000;
  const lake = report.stores.find((s) => s.store === 'lake:txns');
  const row = { rows: size, files, rewritten: lake.filesRewritten.length, removed: lake.rows, eraseS: Number(eraseS.toFixed(2)), ingestS: Number(ingestS.toFixed(1)) };
  log(JSON.stringify(row));
  results.push(row);
  duck.closeSync?.();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ cores: cpus().length, batch, customers, results }, null, 2)}\n`);
