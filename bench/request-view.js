// `node bench/request-view.js [--entities 20000] [--requests 3000] [--out FILE]`: what a request
// view adds to online serving at 1 entity (issue 7 §5: at most +10% at p50). One project, two
// services over the same materialized store: `base` (a view of 8 transaction features and a
// profile field) and `with_request` (the same, plus a request view of 3 features over both
// views, computed from request values sent with each request). Both are served by one
// `createServer` over real HTTP (keep-alive, one connection); requests alternate between the two
// services (ABBA order), so machine noise hits both alike. Reports p50/p90/p99 latency (wall
// time per request at the client) and the ratio of p50s; also the in-process CPU time of
// `getOnlineFeatures` alone. Records the commit measured. Needs `npm run build` first.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadProject } from '../dist/config/load-project.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { openPlatform } from '../dist/platform.js';
import { materialize } from '../dist/processing/materialize.js';
import { createServer } from '../dist/serving/http/server.js';
import { getOnlineFeatures } from '../dist/serving/online-features.js';
import { latestSnapshots } from '../dist/serving/latest-snapshots.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const entities = Number(opt('entities', 20_000));
const requests = Number(opt('requests', 3_000));
const log = (line) => process.stderr.write(`${line}\n`);
const DAY = 86_400_000;
const asOf = Date.UTC(2026, 0, 31, 0, 30);

const config = `import { defineProject, entity, batchSource, featureView, featureService, requestView, count, sum, avg, max, last, countDistinct, field } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', timestamp: 'ts',
  schema: { customer_id: 'string', amount: 'float64', merchant: 'string', country: 'string', ts: 'timestamp' } });
const txn = featureView({ name: 'txn', entity: customer, source: transactions, features: {
  count_1h: count({ window: '1h' }), count_24h: count({ window: '24h' }), sum_24h: sum('amount', { window: '24h' }),
  avg_7d: avg('amount', { window: '7d' }), max_7d: max('amount', { window: '7d' }),
  merchants_7d: countDistinct('merchant', { window: '7d' }), last_amount: last('amount'), count_30d: count({ window: '30d' }),
} });
const profile = featureView({ name: 'profile', entity: customer, source: transactions, ttl: '90d', features: { country: field('country') } });
const risk = requestView({
  name: 'risk', request: { amount: 'float64', merchant_country: 'string' }, inputs: [txn, profile],
  features: {
    amount_vs_avg_7d: ({ request, txn }) => (txn.avg_7d === null ? null : request.amount / txn.avg_7d),
    foreign: ({ request, profile }) => (profile.country === null ? null : request.merchant_country !== profile.country),
    above_max: ({ request, txn }) => txn.max_7d !== null && request.amount > txn.max_7d,
  },
  types: { amount_vs_avg_7d: 'float64', foreign: 'bool', above_max: 'bool' },
});
export default defineProject({ name: 'request_bench', entities: [customer], sources: [transactions], featureViews: [txn, profile], requestViews: [risk],
  featureServices: [featureService({ name: 'base', features: [txn, profile] }), featureService({ name: 'with_request', features: [txn, profile, risk] })] });
`;

const dir = join(here, '.work', 'request-view');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'sluice.config.ts'), config);
const file = join(dir, 'events.parquet');
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
await connection.run(`COPY (SELECT printf('c%07d', e) AS customer_id, round(1 + (hash(e, i, 'a') % 100000) / 100.0, 2) AS amount,
  printf('m%04d', hash(e, i, 'm') % 500) AS merchant, ['FR', 'DE', 'US'][(1 + hash(e) % 3)::BIGINT] AS country,
  epoch_ms((${asOf - 30 * DAY} + hash(e, i) % ${30 * DAY})::BIGINT) AS ts FROM range(${entities}) a(e), range(10) b(i)) TO '${file}' (FORMAT PARQUET)`);
connection.closeSync();
instance.closeSync();

const platform = openPlatform({ projectDir: dir, now: () => asOf });
const project = await loadProject(dir);
await platform.metadata.recordRegistry(project);
await ingestFile(platform, project, 'transactions', file);
await materialize(platform, project, { asOf });
log(`${entities} entities x 10 events materialized`);

const app = await createServer(platform);
const address = await app.listen({ port: 0, host: '127.0.0.1' });
const keyOf = (i) => `c${String((i * 7919) % entities).padStart(7, '0')}`;
const body = (service, i) => JSON.stringify(service === 'base'
  ? { service, entities: { customer_id: [keyOf(i)] } }
  : { service, entities: { customer_id: [keyOf(i)] }, request: { amount: [10 + (i % 90)], merchant_country: [i % 2 ? 'FR' : 'US'] } });
async function once(service, i) {
  const started = performance.now();
  const res = await globalThis.fetch(`${address}/v1/features/online`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(service, i) });
  const json = await res.json();
  const ms = performance.now() - started;
  if (res.status !== 200 || (json.errors ?? 0) > 0) throw new Error(`${service}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return ms;
}
const times = { base: [], with_request: [] };
for (let i = 0; i < 300; i++) await once(i % 2 ? 'base' : 'with_request', i);
for (let i = 0; i < requests; i++) {
  const order = i % 2 === 0 ? ['base', 'with_request'] : ['with_request', 'base'];
  for (const service of order) times[service].push(await once(service, i));
}
await app.close();

const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const summary = (values) => ({ p50Ms: pct(values, 50), p90Ms: pct(values, 90), p99Ms: pct(values, 99) });

// In process: CPU time of getOnlineFeatures alone (no HTTP), mean per call.
const latest = await latestSnapshots(platform.metadata, project);
const store = await platform.online();
const functions = await platform.requestFunctions(project);
// Blocks of calls alternate between the services, so both see the same machine.
const calls = { base: 0, with_request: 0 };
const call = (service) => getOnlineFeatures(project, store, JSON.parse(body(service, calls[service]++)), asOf, latest, { functions });
const cpuMs = { base: 0, with_request: 0 };
for (let w = 0; w < 500; w++) for (const service of ['base', 'with_request']) await call(service);
const BLOCK = 1_000;
const ROUNDS = 20;
for (let r = 0; r < ROUNDS; r++) {
  for (const service of r % 2 === 0 ? ['base', 'with_request'] : ['with_request', 'base']) {
    const cpu = process.cpuUsage();
    for (let k = 0; k < BLOCK; k++) await call(service);
    const used = process.cpuUsage(cpu);
    cpuMs[service] += (used.user + used.system) / 1000;
  }
}
const inProcess = { base: cpuMs.base / (BLOCK * ROUNDS), with_request: cpuMs.with_request / (BLOCK * ROUNDS) };
await platform.close();

const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
const round = (v) => (typeof v === 'number' ? Number(v.toFixed(4)) : v);
const report = {
  commit: { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)bench/results') !== '' },
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  at: new Date().toISOString(),
  config: { entities, eventsPerEntity: 10, requestsPerService: requests, baseFeatures: 9, requestFeatures: 3 },
  http: { base: summary(times.base), withRequest: summary(times.with_request), p50Ratio: pct(times.with_request, 50) / pct(times.base, 50) },
  inProcessCpuMsPerCall: { base: inProcess.base, withRequest: inProcess.with_request, ratio: inProcess.with_request / inProcess.base },
  loadAverage: loadavg()[0],
};
const text = JSON.stringify(report, (_k, v) => round(v), 2);
const out = opt('out', undefined);
if (out) writeFileSync(out, `${text}\n`);
process.stdout.write(`${text}\n`);
rmSync(dir, { recursive: true, force: true });
