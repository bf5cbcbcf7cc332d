import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../config/load-project.js';
import { ConflictError } from '../errors.js';
import { ingestFile } from '../ingest/ingest-file.js';
import { openPlatform, type Platform } from '../platform.js';
import { materialize } from '../processing/materialize.js';
import { buildDataset } from '../serving/datasets/build-dataset.js';
import { startStreamRuntime, type StreamRuntime } from '../streaming/stream-runtime.js';
import { checkConsistency, type ConsistencyReport } from './check-consistency.js';
import { generateFraudData } from './generate-fraud-data.js';

export interface DemoOptions {
  readonly dir: string;
  /** Live events pushed through the stream path after the batch load. Default 20,000. */
  readonly liveEvents?: number;
  readonly customers?: number;
  readonly transactions?: number;
  readonly spineRows?: number;
  readonly sampleEntities?: number;
  readonly log?: (line: string) => void;
}

export interface DemoReport {
  readonly dir: string;
  readonly counts: Record<string, number>;
  readonly timingsMs: Record<string, number>;
  readonly datasetId: string;
  /** The training dataset's file (its manifest is beside it, `<file>.manifest.json`). */
  readonly datasetPath: string;
  readonly sampleRow: Record<string, unknown>;
  readonly consistency: ConsistencyReport;
}

/** The file that marks a directory as created by the demo, so a later run may delete it. */
export const DEMO_MARKER = '.created-by-sluice-demo';

/** Deletes a previous demo directory; refuses any other non-empty directory (it may be the user's work). */
async function clearDemoDir(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing === undefined) return;
  const ours = existing.isDirectory() && ((await readdir(dir)).length === 0 || (await stat(join(dir, DEMO_MARKER)).catch(() => undefined)) !== undefined);
  if (!ours) throw new ConflictError('CONFLICT', `${dir} exists and was not created by "sluice demo"; pass another --dir or remove it yourself`);
  await rm(dir, { recursive: true, force: true });
}

/**
 * The whole embedded platform on a synthetic fraud data set: apply the example project,
 * generate and ingest data (with a few broken records for the dead-letter store), materialize,
 * build a labelled training dataset, push live events through the stream path and commit them
 * to the lake, and check online == offline on sampled customers. Leaves the platform and the
 * stream runtime open (for serving and pushing) in the returned object.
 */
export async function runDemo(options: DemoOptions): Promise<{ report: DemoReport; platform: Platform; runtime: StreamRuntime }> {
  const log = options.log ?? (() => {});
  const dir = resolve(options.dir);
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    log(`${name}...`);
    const result = await body();
    timings[name] = Math.round(performance.now() - started);
    return result;
  };
  await clearDemoDir(dir);
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, DEMO_MARKER), 'created by "sluice demo"; "sluice demo" may delete this directory\n');
  const example = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'fraud', 'sluice.config.ts');
  await cp(example, join(dir, 'sluice.config.ts'));
  const platform = openPlatform({ projectDir: dir });
  const project = await timed('apply', async () => {
    const compiled = await loadProject(dir);
    await platform.metadata.recordRegistry(compiled);
    return compiled;
  });
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const files = await timed('generate', async () =>
    generateFraudData(await platform.engine(), {
      dir: join(dir, 'data'), customers: options.customers ?? 10_000, transactions: options.transactions ?? 1_000_000,
      days: 30, end, spineRows: options.spineRows ?? 100_000,
    }),
  );
  const txns = await timed('ingest transactions', () => ingestFile(platform, project, 'transactions', files.transactions));
  const late = await timed('ingest late feed', () => ingestFile(platform, project, 'transactions', files.lateFeed));
  const customers = await timed('ingest customers', () => ingestFile(platform, project, 'customers', files.customers));
  const mat = await timed('materialize', () => materialize(platform, project));
  const out = join(dir, 'train.parquet');
  const manifest = await timed('dataset build', () => buildDataset(platform, project, { spine: files.labels, service: 'fraud_v1', out }));
  const engine = await platform.engine();
  const [sampleRow] = await engine.all(`SELECT * FROM read_parquet('${out.replaceAll("'", "''")}') WHERE is_fraud = 1 LIMIT 1`);
  const sample = Array.from({ length: options.sampleEntities ?? 200 }, (_, i) => `c${String((i * 7919) % (options.customers ?? 10_000)).padStart(6, '0')}`);
  // Real time: live payments pushed as they happen, online at once, then committed to the lake.
  const runtime = await startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000 });
  const live = await timed('stream live events', () => pushLiveEvents(runtime, sample, options.liveEvents ?? 20_000));
  await timed('commit stream to lake', () => runtime.commitNow());
  const consistency = await timed('online == offline check', () => checkConsistency(platform, project, 'fraud_v1', sample.map((key) => [key])));
  const report: DemoReport = {
    dir,
    counts: {
      transactions: txns.accepted + late.accepted,
      customerProfiles: customers.accepted,
      rejected: txns.rejected + late.rejected + customers.rejected,
      onlineEntities: mat.views.reduce((n, v) => n + v.entities, 0),
      liveEventsPushed: live.accepted,
      liveEventsPerSecond: live.perSecond,
      datasetRows: manifest.rowCount,
      datasetFeatures: manifest.features.length,
    },
    timingsMs: timings,
    datasetId: manifest.datasetId,
    datasetPath: out,
    sampleRow: sampleRow ?? {},
    consistency,
  };
  return { report, platform, runtime };
}

/**
 * Pushes live payments of the sampled customers, timed just before now, in batches of 500 with
 * 8 in flight (as concurrent clients would), through the stream processor: each batch is
 * durable and online when its append resolves.
 */
async function pushLiveEvents(runtime: StreamRuntime, customers: readonly string[], count: number): Promise<{ accepted: number; perSecond: number }> {
  const started = performance.now();
  const now = Date.now();
  let next = 0;
  let accepted = 0;
  const batch = (from: number, to: number) => Array.from({ length: to - from }, (_, j) => {
    const i = from + j;
    return JSON.stringify({ txn_id: `live${i}`, customer_id: customers[(i * 31) % customers.length], amount: Math.round(((i * 7919) % 50_000) + 100) / 100, merchant: `m${(i * 13) % 500}`, ts: new Date(now - 1 - ((i * 97) % 60_000)).toISOString() });
  });
  const worker = async () => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + 500);
      const outcome = await runtime.processor.append('transactions', { texts: batch(from, next) }, 'push');
      accepted += outcome.accepted;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { accepted, perSecond: Math.round(accepted / ((performance.now() - started) / 1000)) };
}
