// `node bench/embeddings.js [--entities 2000] [--dim 768] [--seconds 3] [--out FILE]`: serving a
// float32 embedding against a plain float feature (issue 7 §4). One project, two views of one
// source: `emb` serves `last('embedding')` (float32[dim]), `plain` serves `last('amount')`
// (float64). Every entity has 2 events; materialized, then, in this process (no HTTP, as
// `bench/serving-in-process.js`), CPU milliseconds per request (answer = read the states and
// evaluate; plus JSON = `stringifyExact` of the answer, what the HTTP route writes) at 1 and 100
// entities, for each view alone; the ratio is the embedding's over the plain feature's. Also the
// stored bytes per entity of each view's state, and the same requests over HTTP (`sluice serve`
// in its own process, autocannon with one connection from this one): latency and server CPU. Reports JSON with the git commit measured. Needs
// `npm run build` first (it runs the built dist/).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuTimed } from './cpu-timed.js';
import { load, startChild } from './serving.js';
import { batchSource, compileProject, defineProject, entity, featureView, last } from '../dist/definitions/index.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { openPlatform } from '../dist/platform.js';
import { materialize } from '../dist/processing/materialize.js';
import { stringifyExact } from '../dist/serving/exact-json.js';
import { latestSnapshots } from '../dist/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../dist/serving/online-features.js';
import { encodeEntityState } from '../dist/storage/online/lmdb/entity-state-codec.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const entities = Number(opt('entities', 2000));
const dim = Number(opt('dim', 768));
const seconds = Number(opt('seconds', 3));
const out = opt('out', undefined);
const log = (line) => process.stderr.write(`${line}\n`);
const asOf = Date.UTC(2026, 0, 31);

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const events = batchSource({ name: 'events', timestamp: 'ts', schema: { customer_id: 'string', amount: 'float64', embedding: `float32[${dim}]`, ts: 'timestamp' } });
const spec = defineProject({
  name: 'embeddings', entities: [customer], sources: [events], featureViews: [
    featureView({ name: 'emb', entity: customer, source: events, features: { embedding: last('embedding') } }),
    featureView({ name: 'plain', entity: customer, source: events, features: { amount: last('amount') } }),
  ],
});

const timed = (body) => cpuTimed(body, seconds);

async function main() {
  const work = join(here, '.work', 'embeddings');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const platform = openPlatform({ projectDir: work, now: () => asOf });
  const project = compileProject(spec);
  await platform.metadata.recordRegistry(project);
  const engine = await platform.engine();
  const file = join(work, 'events.parquet');
  log(`writing ${entities * 2} events with ${dim}-dimension embeddings...`);
  await engine.run(`COPY (SELECT printf('c%07d', e) AS customer_id, round((hash(e, i) % 10000) / 100.0, 2) AS amount,
    list_transform(range(${dim}), j -> ((hash(e, i, j) % 20001)::DOUBLE / 10000 - 1)::FLOAT) AS embedding,
    epoch_ms(${asOf - 86_400_000} + i * 3600000 + e) AS ts FROM range(${entities}) a(e), range(2) b(i)) TO '${file}' (FORMAT PARQUET)`);
  let started = performance.now();
  const ingested = await ingestFile(platform, project, 'events', file);
  const ingestSeconds = (performance.now() - started) / 1000;
  log(`ingested ${ingested.accepted} in ${ingestSeconds.toFixed(1)} s; materializing...`);
  started = performance.now();
  await materialize(platform, project);
  const materializeSeconds = (performance.now() - started) / 1000;
  const store = await platform.online();
  const latest = await latestSnapshots(platform.metadata, project);
  const keys = (n) => Array.from({ length: n }, (_, i) => `c${String((17 + i * 7919) % entities).padStart(7, '0')}`);
  const results = {};
  for (const count of [1, 100]) {
    const row = {};
    for (const view of ['emb', 'plain']) {
      const request = { features: [view === 'emb' ? 'emb:embedding' : 'plain:amount'], entities: { customer_id: keys(count) } };
      const response = await getOnlineFeatures(project, store, request, asOf, latest);
      if (view === 'emb' && response.rows.some((r) => r.emb__embedding?.length !== dim)) throw new Error('an embedding was not served whole');
      const answerMs = await timed(() => getOnlineFeatures(project, store, request, asOf, latest));
      const jsonMs = await timed(() => stringifyExact(response));
      const { states } = await store.read(view, request.entities.customer_id);
      const stateBytes = states.reduce((n, s) => n + (s ? encodeEntityState(s).length : 0), 0) / count;
      row[view] = { answerMs, jsonMs, totalMs: answerMs + jsonMs, responseBytes: stringifyExact(response).length, stateBytesPerEntity: Math.round(stateBytes) };
    }
    row.ratio = { answer: row.emb.answerMs / row.plain.answerMs, total: row.emb.totalMs / row.plain.totalMs };
    results[`entities${count}`] = row;
    log(`${count} entities: ${JSON.stringify(row)}`);
  }
  await platform.close();
  const port = 6703;
  const server = await startChild([join(here, '..', 'bin', 'sluice.js'), 'serve', '--project', work, '--port', String(port), '--log-level', 'warn'], 'serving on');
  try {
    for (const count of [1, 100]) {
      const http = {};
      for (const view of ['emb', 'plain']) {
        const body = { features: [view === 'emb' ? 'emb:embedding' : 'plain:amount'], entities: { customer_id: keys(count) } };
        const url = `http://127.0.0.1:${port}/v1/features/online`;
        await load(server, url, body, 1, 1);
        http[view] = await load(server, url, body, 1, seconds);
      }
      // Latencies are whole milliseconds (autocannon): the ratios are of throughput and server CPU.
      http.ratio = { throughput: http.plain.requestsPerSecond / http.emb.requestsPerSecond, cpu: http.emb.cpuMsPerRequest / http.plain.cpuMsPerRequest };
      results[`entities${count}`].http = http;
      log(`${count} entities over HTTP: ${JSON.stringify(http)}`);
    }
  } finally {
    server.kill('SIGTERM');
  }
  const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
  const report = {
    commit: { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)bench/results') !== '' },
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverage: (await import('node:os')).loadavg()[0] },
    at: new Date().toISOString(),
    config: { entities, dim, eventsPerEntity: 2, seconds, measure: 'in-process CPU ms per request: getOnlineFeatures (read + evaluate), then stringifyExact of the answer' },
    setup: { ingestSeconds, materializeSeconds },
    results,
  };
  const text = `${JSON.stringify(report, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(4)) : v), 2)}\n`;
  if (out) writeFileSync(out, text);
  process.stdout.write(text);
}

await main();
