// `node bench/as-known.js` (after `npm run build`): what `dataset build --as-known` costs against
// an event-time build of the same spine over the same lake. Options:
//   --events N (1_000_000)  --entities N (10_000)  --spine N (100_000)  --late F (0.1, the share of events known late)
// Lakes: every event known when it happened; a share F known 0-60 min or 0-7 days late each (a
// stream's acknowledgement times; an outage's backlog); a share F backfilled today (`--known-at ingestion`: known after every spine row).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject } from '../dist/config/load-project.js';
import { writeLakeFile } from '../dist/ingest/commit-ingest.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { openPlatform } from '../dist/platform.js';
import { buildDataset } from '../dist/serving/datasets/build-dataset.js';
import { BENCH_CONFIG } from './bench-project.js';
import { generateBenchData } from './generate.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const events = opt('events', 1_000_000);
const entities = opt('entities', 10_000);
const spineRows = opt('spine', 100_000);
const late = opt('late', 0.1);
const log = (line) => process.stderr.write(`${line}\n`);
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-as-known-'));
mkdirSync(join(dir, 'data'), { recursive: true });
writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
const end = Math.floor(Date.now() / 60_000) * 60_000;
const project = await loadProject(dir);
const setup = openPlatform({ projectDir: dir });
const files = await generateBenchData(await setup.engine(), { dir: join(dir, 'data'), events, entities, spineRows, end });
await setup.close();

const isLate = `(hash(txn_id, 'late') % 1000) < ${Math.round(late * 1000)}`;
/** A lake in its own project directory: `knownAt` is the SQL of each event's known time, or 'ingestion'. */
async function lake(name, knownAt) {
  const projectDir = join(dir, name);
  mkdirSync(projectDir, { recursive: true });
  const platform = openPlatform({ projectDir, now: () => end + 60_000 });
  await platform.metadata.recordRegistry(project);
  const source = project.sources.find((s) => s.name === 'transactions');
  const engine = await platform.engine();
  const write = async (part, where, known) => {
    await engine.run(`CREATE OR REPLACE TEMP TABLE ingest_checked AS SELECT row_number() OVER () AS _n, '' AS _reason, txn_id, customer_id, amount::VARCHAR AS amount, merchant,
      strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, ${known} AS _ack FROM read_parquet('${files.transactions}') WHERE ${where}`);
    const [{ n }] = await engine.all('SELECT count(*)::INTEGER AS n FROM ingest_checked');
    const file = await writeLakeFile(platform, source, n, `${name}-${part}`, { mode: 'sql', sql: '_ack' });
    await platform.metadata.commitIngest({ source: 'transactions', addedFiles: [file], addedRows: n, contentHash: `${name}-${part}`, force: true }, []);
  };
  if (knownAt === 'ingestion') {
    await write('a', `NOT ${isLate}`, 'epoch_ms(ts)');
    await write('b', isLate, String(end + 60_000));
  } else {
    await write('a', 'TRUE', knownAt);
  }
  await ingestFile(platform, project, 'customers', files.customers);
  return platform;
}

/** CPU seconds of the build (every thread of the process): less sensitive than wall time to other load. */
async function build(platform, asKnown) {
  const started = process.cpuUsage();
  await buildDataset(platform, project, { spine: files.spine, service: 'all', out: join(dir, `out-${asKnown}.parquet`), asKnown });
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1e6;
}

const results = { events, entities, spineRows, late };
for (const [name, knownAt] of [['on-time', 'epoch_ms(ts)'], ['late-60m', `epoch_ms(ts) + CASE WHEN ${isLate} THEN (hash(txn_id, 'delay') % 3600000)::BIGINT ELSE 0 END`], ['late-7d', `epoch_ms(ts) + CASE WHEN ${isLate} THEN (hash(txn_id, 'delay') % 604800000)::BIGINT ELSE 0 END`], ['backfilled-today', 'ingestion']]) {
  log(`${name}...`);
  const platform = await lake(name, knownAt);
  await build(platform, false); // warm the file cache
  // The best of 3, interleaved: the machine is shared, so single runs are noisy.
  let eventTime = Infinity;
  let asKnown = Infinity;
  for (let round = 0; round < 3; round++) {
    eventTime = Math.min(eventTime, await build(platform, false));
    asKnown = Math.min(asKnown, await build(platform, true));
  }
  results[name] = { eventTimeCpuSeconds: +eventTime.toFixed(2), asKnownCpuSeconds: +asKnown.toFixed(2), ratio: +(asKnown / eventTime).toFixed(2) };
  log(`  event time ${eventTime.toFixed(2)} CPU s, as known ${asKnown.toFixed(2)} CPU s`);
  await platform.close();
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
rmSync(dir, { recursive: true, force: true });
