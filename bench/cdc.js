// `npm run bench:cdc` = `node bench/cdc.js [--rows N] [--updates N] [--txn N] [--rounds R]
// [--rates 500,2000] [--lag-seconds S] [--batch N] [--commit-interval-ms MS] [--out FILE]`: Postgres CDC into Sluice (issue 6 §7).
// Starts a throwaway PostgreSQL (bench/postgres-server.js), fills `accounts` with N rows
// (default 100k), then per round (default 2), each against a floor measured in the same run:
//   (a) the floor: Sluice's Postgres CDC connector into an in-memory sink that only counts;
//   (b) Sluice: the same connector in `startStreamRuntime` (durable log, online LMDB update, lake
//       commits every second), done when the last key's new `version` is served by
//       `getOnlineFeatures`;
// measuring the initial snapshot (connector start to every row there) and a burst of
// `--updates` row updates in transactions of `--txn` rows (first write to the last change
// there). In the last round, a writer thread makes single-row update transactions at each fixed
// rate for `--lag-seconds`; for a sample (about 100 a second), the checker polls until the new
// version is there and records commit-returned-to-visible lag, for (a) and (b).
// Needs `npm run build` first (it runs the built dist/); never run vitest at the same time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { cdcSource, compileProject, defineProject, entity, featureView, field, postgresCdc } from '../dist/definitions/index.js';
import { postgresCdcConnector } from '../dist/ingest/connectors/postgres/index.js';
import { openPlatform } from '../dist/platform.js';
import { latestSnapshots } from '../dist/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../dist/serving/online-features.js';
import { startStreamRuntime } from '../dist/streaming/stream-runtime.js';
import { startPostgres } from './postgres-server.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const rows = Number(opt('rows', 100_000));
const updates = Number(opt('updates', rows));
const txn = Number(opt('txn', 1_000));
const rounds = Number(opt('rounds', 2));
const rates = String(opt('rates', '500,2000')).split(',').filter((r) => r !== '').map(Number);
const lagSeconds = Number(opt('lag-seconds', 20));
// The connector's batch sizes (snapshot rows per append, most changes per append); default its own.
const batch = opt('batch', undefined);
const tuning = batch === undefined ? {} : { snapshotBatchSize: Number(batch), maxBatch: Number(batch) };
// How often the runtime commits the log to the lake (its default: 1 s).
const commitIntervalMs = Number(opt('commit-interval-ms', 1_000));
if (updates > rows || updates % txn !== 0) throw new Error('--updates must be at most --rows and a multiple of --txn');
const log = (line) => process.stderr.write(`${line}\n`);
const epochMs = () => performance.timeOrigin + performance.now();
const POLL_MS = 1;

const account = entity({ name: 'account', joinKey: 'account_id' });
/** The project, its source following `accounts` through replication slot `slot`. */
function benchProject(url, slot) {
  const accounts = cdcSource({
    name: 'accounts', key: 'account_id',
    schema: { account_id: 'int64', tier: 'string', credit_limit: 'float64', version: 'int64' },
    connector: postgresCdc({ connection: url, table: 'public.accounts', slot, publication: 'bench_accounts' }),
  });
  const profile = featureView({ name: 'profile', entity: account, source: accounts, features: { tier: field('tier'), credit_limit: field('credit_limit'), version: field('version') } });
  return compileProject(defineProject({ name: 'crm', entities: [account], sources: [accounts], featureViews: [profile] }));
}

/** Polls `check` every `ms` until it is true; resolves to the time (performance.now()) it was. */
async function until(check, ms = 5, timeoutMs = 600_000) {
  const started = performance.now();
  for (;;) {
    const at = performance.now();
    if (await check()) return at;
    if (at - started > timeoutMs) throw new Error('timed out');
    await sleep(ms);
  }
}

let version = 0;
/** Every row's `version` to the next value, `txn` rows a transaction; resolves to the seconds the writes took. */
async function burst(db) {
  version += 1;
  const started = performance.now();
  for (let lo = 0; lo < updates; lo += txn) await db.query('UPDATE accounts SET version = $1 WHERE account_id > $2 AND account_id <= $3', [version, lo, lo + txn]);
  return (performance.now() - started) / 1000;
}

/**
 * Steady single-row updates at `rate` for `lagSeconds` from a worker thread; for each sampled
 * transaction, polls `versions(keys)` until the key shows its version. Commit-to-visible lags in ms.
 */
async function lagAt(url, rate, versions) {
  const sampleEvery = Math.max(1, Math.round(rate / 100));
  const baseVersion = (version += 1) * 1_000_000_000;
  const worker = new Worker(new URL('./cdc-writer.js', import.meta.url), { workerData: { url, rate, seconds: lagSeconds, rows, baseVersion, sampleEvery } });
  const pending = new Map();
  const lags = [];
  let writer;
  const failed = new Promise((_, fail) => worker.once('error', fail));
  worker.on('message', (m) => {
    if (m.done) writer = m;
    else pending.set(m.key, [...(pending.get(m.key) ?? []), m]);
  });
  let drainedBy;
  while (writer === undefined || pending.size > 0) {
    if (writer !== undefined && (drainedBy ??= performance.now() + 60_000) < performance.now()) break;
    if (pending.size > 0) {
      const keys = [...pending.keys()];
      const readAt = epochMs();
      const seen = await Promise.race([versions(keys), failed]);
      keys.forEach((key, i) => {
        const left = pending.get(key).filter((s) => (seen[i] >= s.version ? (lags.push(readAt - s.committedAt), false) : true));
        if (left.length > 0) pending.set(key, left);
        else pending.delete(key);
      });
    }
    await sleep(POLL_MS);
  }
  await worker.terminate();
  const missing = [...pending.values()].reduce((n, l) => n + l.length, 0);
  lags.sort((a, b) => a - b);
  const q = (p) => Number(lags[Math.min(lags.length - 1, Math.floor(p * lags.length))].toFixed(1));
  return { rate, seconds: lagSeconds, writtenPerSecond: Math.round(writer.written / writer.seconds), lateWrites: writer.late, samples: lags.length, notVisible: missing, lagMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1), min: q(0) } };
}

/** (a) The connector into a sink that counts (and, while `tracking`, remembers each key's version). */
async function floorRun(server, db, round, withLag) {
  let count = 0;
  let position;
  let tracking = false;
  const seen = new Map();
  const waiting = new Set();
  const sink = {
    position: async () => position,
    append: async (texts, at) => {
      position = at;
      count += texts.length;
      if (tracking) for (const t of texts) {
        const e = JSON.parse(t);
        seen.set(Number(e.account_id), Number(e.version));
      }
      for (const w of waiting) {
        if (count < w.n) continue;
        waiting.delete(w);
        w.done(performance.now());
      }
      return { accepted: texts.length, duplicates: 0, rejected: [] };
    },
  };
  const reach = (n) => new Promise((done) => (count >= n ? done(performance.now()) : waiting.add({ n, done })));
  const source = benchProject(server.url('crm'), `bench_floor_${round}`).sources[0];
  const started = performance.now();
  const running = await postgresCdcConnector(tuning)(source, sink, { log: (m) => (m.includes('retrying') ? log(m) : undefined) });
  const snapshotSeconds = ((await reach(rows)) - started) / 1000;
  const burstStarted = performance.now();
  const [writeSeconds, burstDone] = await Promise.all([burst(db), reach(rows + updates)]);
  const result = { snapshotSeconds, snapshotRowsPerSecond: Math.round(rows / snapshotSeconds), burstSeconds: (burstDone - burstStarted) / 1000, writeSeconds };
  result.burstChangesPerSecond = Math.round(updates / result.burstSeconds);
  if (withLag) {
    tracking = true;
    result.lag = [];
    for (const rate of rates) result.lag.push(await lagAt(server.url('crm'), rate, async (keys) => keys.map((k) => seen.get(k) ?? -1)));
  }
  await running.stop();
  await db.query('SELECT pg_drop_replication_slot($1)', [`bench_floor_${round}`]);
  // The lag writes left scattered versions: one again for the next run's snapshot check.
  if (withLag) await db.query('UPDATE accounts SET version = $1', [(version += 1)]);
  return result;
}

/** (b) The connector in Sluice's stream runtime, measured by what `getOnlineFeatures` serves. */
async function sluiceRun(server, db, round, withLag) {
  const slot = `bench_sluice_${round}`;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-cdc-'));
  const project = benchProject(server.url('crm'), slot);
  const platform = openPlatform({ projectDir: dir });
  try {
    await platform.metadata.recordRegistry(project);
    let started;
    const start = postgresCdcConnector(tuning);
    // Each append into Sluice (validate, durable log, online update) timed, to say where the time goes.
    const appends = [];
    const timed = (sink) => ({
      position: () => sink.position(),
      append: async (texts, at) => {
        const t = performance.now();
        const outcome = await sink.append(texts, at);
        appends.push([texts.length, performance.now() - t]);
        return outcome;
      },
    });
    const connectors = { postgresCdc: (source, sink, options) => ((started = performance.now()), start(source, timed(sink), options)) };
    // Appends since `from`: how many, their mean size and time, and the share of `seconds` spent in them.
    const appendStats = (from, seconds) => {
      const part = appends.slice(from);
      const ms = part.map(([, m]) => m).sort((a, b) => a - b);
      const total = ms.reduce((a, b) => a + b, 0);
      const round = (x) => Number(x.toFixed(2));
      return { appends: part.length, meanEvents: Math.round(part.reduce((n, [e]) => n + e, 0) / part.length), meanMs: round(total / part.length), p50Ms: round(ms[Math.floor(ms.length / 2)]), p99Ms: round(ms[Math.floor(ms.length * 0.99)]), inAppendShare: round(total / 1000 / seconds) };
    };
    const runtime = await startStreamRuntime(platform, { project: () => project, connectors, commitIntervalMs, log: (level, m) => (level === 'info' ? undefined : log(`${level}: ${m}`)) });
    const online = await platform.online();
    const latest = await latestSnapshots(platform.metadata, project);
    const versions = async (keys) => (await getOnlineFeatures(project, online, { entities: { account_id: keys }, features: ['profile:version'] }, Date.now() + 1, latest)).rows.map((r) => (r.profile__version == null ? -1 : Number(r.profile__version)));
    const shows = (key, v) => until(async () => (await versions([key]))[0] === v);
    const snapshotSeconds = ((await shows(rows, version)) - started) / 1000;
    const snapshotAppends = appendStats(0, snapshotSeconds);
    const afterSnapshot = appends.length;
    const target = version + 1;
    const burstStarted = performance.now();
    const [writeSeconds, burstDone] = await Promise.all([burst(db), shows(updates, target)]);
    const result = { snapshotSeconds, snapshotRowsPerSecond: Math.round(rows / snapshotSeconds), burstSeconds: (burstDone - burstStarted) / 1000, writeSeconds };
    result.burstChangesPerSecond = Math.round(updates / result.burstSeconds);
    result.appends = { snapshot: snapshotAppends, burst: appendStats(afterSnapshot, result.burstSeconds) };
    // Every key, not only the last, holds the burst's version.
    let wrong = 0;
    for (let lo = 1; lo <= updates; lo += 5_000) {
      const keys = Array.from({ length: Math.min(5_000, updates - lo + 1) }, (_, i) => lo + i);
      wrong += (await versions(keys)).filter((v) => v !== version).length;
    }
    if (wrong > 0) throw new Error(`${wrong} keys do not show version ${version} online after the burst`);
    if (withLag) {
      result.lag = [];
      for (const rate of rates) {
        const from = appends.length;
        result.lag.push({ ...(await lagAt(server.url('crm'), rate, versions)), appends: appendStats(from, lagSeconds) });
      }
    }
    result.connector = runtime.status()[0].connector;
    await runtime.close();
    await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
    return result;
  } finally {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const server = await startPostgres(['fsync=off']);
  try {
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE crm');
    await admin.end();
    const db = new pg.Client({ connectionString: server.url('crm') });
    await db.connect();
    await db.query('CREATE TABLE accounts (account_id BIGINT PRIMARY KEY, tier TEXT, credit_limit DOUBLE PRECISION, version BIGINT)');
    await db.query("INSERT INTO accounts SELECT g, (ARRAY['bronze','silver','gold'])[g % 3 + 1], (g % 1000) * 10.0, 0 FROM generate_series(1, $1) g", [rows]);
    await db.query('VACUUM ANALYZE accounts');
    const floor = [];
    const sluice = [];
    for (let round = 0; round < rounds; round++) {
      const last = round === rounds - 1;
      floor.push(await floorRun(server, db, round, last));
      log(`round ${round + 1} floor:  snapshot ${floor[round].snapshotRowsPerSecond} rows/s, burst ${floor[round].burstChangesPerSecond} changes/s (writes took ${floor[round].writeSeconds.toFixed(2)} s)`);
      sluice.push(await sluiceRun(server, db, round, last));
      log(`round ${round + 1} sluice: snapshot ${sluice[round].snapshotRowsPerSecond} rows/s, burst ${sluice[round].burstChangesPerSecond} changes/s (writes took ${sluice[round].writeSeconds.toFixed(2)} s)`);
    }
    await db.end();
    const best = (runs, key) => Math.max(...runs.map((r) => r[key]));
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const ratio = (key) => ({
      ofBests: Number((best(sluice, key) / best(floor, key)).toFixed(3)),
      medianOfRounds: Number(median(sluice.map((s, r) => s[key] / floor[r][key])).toFixed(3)),
    });
    const withoutLag = (run) => Object.fromEntries(Object.entries(run).filter(([k]) => k !== 'lag'));
    const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)bench/results') !== '';
    const report = {
      commit: dirty ? `${git('rev-parse', 'HEAD')}+dirty` : git('rev-parse', 'HEAD'),
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverage1mAtEnd: Number(loadavg()[0].toFixed(2)) },
      postgres: `${server.version} (fsync=off, same machine)`,
      config: { rows, updates, txn, rounds, rates, lagSeconds, pollMs: POLL_MS, connectorTuning: tuning, commitIntervalMs },
      snapshot: { floorRowsPerSecond: best(floor, 'snapshotRowsPerSecond'), sluiceRowsPerSecond: best(sluice, 'snapshotRowsPerSecond'), ratio: ratio('snapshotRowsPerSecond') },
      burst: { floorChangesPerSecond: best(floor, 'burstChangesPerSecond'), sluiceChangesPerSecond: best(sluice, 'burstChangesPerSecond'), ratio: ratio('burstChangesPerSecond') },
      lag: { floor: floor.at(-1).lag, sluice: sluice.at(-1).lag },
      rounds: { floor: floor.map(withoutLag), sluice: sluice.map(withoutLag) },
    };
    const out = opt('out', undefined);
    if (out !== undefined) writeFileSync(resolve(out), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await server.stop();
  }
}

await main();
