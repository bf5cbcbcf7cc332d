import { relative } from 'node:path';
import { userInfo } from 'node:os';
import { didYouMean, projectJobs, type JobDefinition, type Project, type Source } from '../definitions/index.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { ingestFile } from '../ingest/ingest-file.js';
import { existsSync } from 'node:fs';
import { ingestPostgresTable } from '../ingest/connectors/postgres-table/index.js';
import { materialize } from '../processing/materialize.js';
import { runTransform, transformSource, type TransformContext } from '../processing/transforms/run-transform.js';
import { buildDataset } from '../serving/datasets/build-dataset.js';
import { SPINE_FILE_HINT } from '../serving/datasets/spine-columns.js';
import type { RunTrigger } from '../storage/metadata/schedule-store.js';
import { applySnapshotOnline } from '../streaming/apply-snapshot.js';
import { toIso } from '../time/index.js';
import { fileDate, matchFiles } from './file-glob.js';
import { fileSha256 } from '../ingest/file-hash.js';
import { trackRun } from './track-run.js';
import { runRetention } from '../compliance/retention/run-retention.js';
import { operatorPrincipal } from '../compliance/retention/operator-principal.js';
import { confineToProject } from '../compliance/hardening/confine-path.js';
import { authorizeJob } from '../compliance/access/authorize-job.js';
import type { Principal } from '../compliance/principal.js';

/** Who runs a job, for the audit trail: its principal, else the scheduler or the operator at the command line. */
const jobActor = (options: JobRunOptions): string => options.principal?.name ?? (options.trigger === 'schedule' || options.trigger === 'trigger' ? 'scheduler' : `cli:${userInfo().username}`);

/** What jobs run against: the platform's stores, and the project directory that file globs are relative to. */
export interface JobContext extends TransformContext {
  readonly projectDir: string;
}

/** A backfill partition: the job covers `[start, end)` (epoch ms). */
export interface Partition {
  readonly start: number;
  readonly end: number;
}

/** The uniform part of a job run's stats: rows in and out, and the snapshots read and written. */
export interface JobStats {
  readonly rowsIn: number;
  readonly rowsOut: number;
  /** Table name to the snapshot id read (null: it had none). */
  readonly snapshotsRead: Readonly<Record<string, string | null>>;
  readonly snapshotsWritten: readonly string[];
  readonly [more: string]: unknown;
}

export interface JobRunOptions {
  readonly trigger?: RunTrigger;
  readonly runKey?: string;
  readonly attempt?: number;
  readonly partition?: Partition;
  /**
   * Run the partition again although it succeeded (a backfill's `--rerun`): each of its files is
   * ingested in place of its earlier ingests (`IngestOptions.rerun`), recorded as `rerun: true`.
   */
  readonly rerun?: boolean;
  /** Aborted when the run must stop (its timeout, a stopping scheduler): work stops between steps. */
  readonly signal?: AbortSignal;
  /** The run's time limit, for work that enforces its own (a transform's query). */
  readonly timeoutMs?: number;
  /**
   * Wraps the job's work inside its run (a time limit, see `withTimeout`): the signal it gives
   * stops the work, and its error fails the run at once.
   */
  readonly limit?: <T>(work: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  /** Called first inside the run (e.g. to link the run to its key). */
  readonly onStart?: () => Promise<void>;
  /**
   * Who the run acts as (a schedule's identity, `cliPrincipal` for `sluice run`): the run is
   * authorized first (`authorizeJob`; a refusal fails the run with POLICY_DENIED), recorded in
   * its params, and a dataset is built (authorized and masked) for it. Every entry point passes one.
   */
  readonly principal?: Principal;
}

/** A job of the project's catalogue; a NotFoundError naming the jobs there are. */
export function findJob(project: Project, name: string): JobDefinition {
  const jobs = projectJobs(project);
  const job = jobs.find((j) => j.name === name);
  if (!job) {
    const hint = name.startsWith('ingest:') ? ' (an ingest job needs a batch source with a path: batchSource({ ..., path: "data/x/*.csv" }), or a postgresTable connector)' : '';
    throw new NotFoundError('NOT_FOUND', `there is no job "${name}"${didYouMean(name, jobs.map((j) => j.name))}${hint}; jobs: ${jobs.map((j) => j.name).join(', ') || 'none'}`);
  }
  return job;
}

/** Jobs that take a partition, and what it selects. */
export function supportsPartitions(job: JobDefinition): boolean {
  return job.kind === 'ingest';
}

/**
 * The files an ingest job's glob matches that carry no date (see `fileDate`), relative to the
 * project: no backfill partition takes them. Empty for other jobs.
 *
 * @example
 * undatedFiles(jc, project, 'ingest:payments'); // ['data/payments/latest.csv']
 */
export function undatedFiles(jc: JobContext, project: Project, job: string): string[] {
  const definition = findJob(project, job);
  const path = definition.kind === 'ingest' ? project.sources.find((s) => s.name === definition.target)?.path : undefined;
  if (path === undefined) return [];
  return matchFiles(jc.projectDir, path).map((f) => relative(jc.projectDir, f)).filter((f) => fileDate(f) === undefined);
}

/** Of `files`, those whose date (`fileDate`, read under the project) is in `partition`. */
function inPartition(jc: JobContext, files: readonly string[], partition: Partition): string[] {
  return files.filter((f) => {
    const day = fileDate(relative(jc.projectDir, f));
    return day !== undefined && day >= partition.start && day < partition.end;
  });
}

/**
 * The files of an ingest job's partition whose content its source has not ingested (a file that
 * arrived, or changed, after the partition's run), relative to the project; each file is hashed.
 *
 * @example
 * await notIngestedInPartition(jc, project, 'ingest:payments', { start, end }); // ['data/payments/2026-01-07.csv']
 */
export async function notIngestedInPartition(jc: JobContext, project: Project, job: string, partition: Partition): Promise<string[]> {
  const definition = findJob(project, job);
  const path = definition.kind === 'ingest' ? project.sources.find((s) => s.name === definition.target)?.path : undefined;
  if (path === undefined) return [];
  const fresh: string[] = [];
  for (const file of inPartition(jc, matchFiles(jc.projectDir, path), partition)) {
    if (!(await jc.metadata.findIngest(definition.target, await fileSha256(file)))) fresh.push(relative(jc.projectDir, file));
  }
  return fresh;
}

async function ingestJob(jc: JobContext, project: Project, job: JobDefinition, options: JobRunOptions): Promise<JobStats> {
  const source = project.sources.find((s) => s.name === job.target)!;
  if (source.path === undefined) return ingestTableJob(jc, project, source, options);
  const matched = matchFiles(jc.projectDir, source.path);
  for (const file of matched) await confineToProject(jc, jc.projectDir, file, { what: `source "${source.name}": path matches`, action: 'ingest.run', actor: jobActor(options), target: `source:${source.name}` });
  const { partition } = options;
  const files = partition === undefined ? matched : inPartition(jc, matched, partition);
  const before = await jc.metadata.latestSnapshot(source.name);
  const written: string[] = [];
  let accepted = 0;
  let rejected = 0;
  let skipped = 0;
  for (const file of files) {
    options.signal?.throwIfAborted();
    const result = await ingestFile(jc, project, source.name, file, { online: true, ...(options.rerun ? { rerun: true } : {}) });
    if (result.skipped) {
      skipped++;
      continue;
    }
    accepted += result.accepted;
    rejected += result.rejected;
    written.push(result.snapshot);
  }
  return { rowsIn: accepted + rejected, rowsOut: accepted, rejected, files: files.length, filesIngested: written.length, filesSkipped: skipped, snapshotsRead: { [source.name]: before?.id ?? null }, snapshotsWritten: written };
}

/** A batch source read from a Postgres table: the rows after its committed cursor, as one snapshot. */
async function ingestTableJob(jc: JobContext, project: Project, source: Source, options: JobRunOptions): Promise<JobStats> {
  if (options.partition) throw new ValidationError('VALIDATION_FAILED', `job "ingest:${source.name}" reads a Postgres table by its cursor: it takes no partition; run it without one`);
  options.signal?.throwIfAborted();
  const before = await jc.metadata.latestSnapshot(source.name);
  const result = await ingestPostgresTable(jc, project, source.name, { online: true });
  const written = result.skipped || result.snapshot === null ? [] : [result.snapshot];
  return { rowsIn: result.read, rowsOut: result.accepted, rejected: result.rejected, snapshotsRead: { [source.name]: before?.id ?? null }, snapshotsWritten: written };
}

async function transformJob(jc: JobContext, project: Project, job: JobDefinition, options: JobRunOptions): Promise<JobStats> {
  const result = await runTransform(jc, project, job.target, { ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), ...(options.signal ? { signal: options.signal } : {}) });
  if (!result.skipped && result.snapshot !== null) {
    const snapshot = await jc.metadata.snapshot(result.snapshot);
    if (snapshot) await applySnapshotOnline(jc, project, transformSource(project, job.target), snapshot);
  }
  return { rowsIn: result.rowsIn, rowsOut: result.rows, mode: result.mode, upToDate: result.skipped, snapshotsRead: result.inputs, snapshotsWritten: result.skipped || result.snapshot === null ? [] : [result.snapshot] };
}

async function materializeJob(jc: JobContext, project: Project, job: JobDefinition, options: JobRunOptions): Promise<JobStats> {
  const result = await materialize(jc, project, { views: [job.target], ...(options.signal ? { signal: options.signal } : {}) });
  const view = result.views[0]!;
  const source = project.featureViews.find((v) => v.name === job.target)!.source;
  return { rowsIn: view.events, rowsOut: view.entities, asOf: toIso(result.asOf), snapshotsRead: { [source]: view.snapshot }, snapshotsWritten: [] };
}

/** A declared dataset, built by the one build path (`buildDataset`), its paths relative to the project directory. */
async function datasetJob(jc: JobContext, project: Project, job: JobDefinition, options: JobRunOptions): Promise<JobStats> {
  const d = project.datasets!.find((x) => x.name === job.target)!;
  const confined = (option: 'spine' | 'out') => confineToProject(jc, jc.projectDir, d[option], { what: `dataset "${d.name}": ${option}`, action: 'dataset.build', actor: jobActor(options), target: `dataset:${d.name}` });
  const spine = await confined('spine');
  if (!existsSync(spine)) {
    throw new NotFoundError('NOT_FOUND', `dataset "${d.name}": its spine ${d.spine} (${spine}) does not exist; write the spine there (${SPINE_FILE_HINT}), or point the dataset's spine in sluice.config.ts at an existing file`);
  }
  const manifest = await buildDataset(jc, project, {
    ...(d.service !== undefined ? { service: d.service } : { features: d.features ?? [] }),
    spine, out: await confined('out'), timestampColumn: d.timestampColumn,
    ...(d.asKnown ? { asKnown: true } : {}), ...(d.model === undefined ? {} : { model: d.model }),
    ...(options.principal ? { principal: options.principal } : {}), ...(options.signal ? { signal: options.signal } : {}),
    residency: { name: d.name, ...(d.region === undefined ? {} : { region: d.region }), actor: jobActor(options), origin: options.principal?.origin ?? 'local' },
  });
  // Spine rows of erased subjects are read and left out (see dropErasedSpineRows).
  return { rowsIn: manifest.rowCount + (manifest.erasedRows ?? 0), rowsOut: manifest.rowCount, ...(manifest.erasedRows ? { erasedRows: manifest.erasedRows } : {}), datasetId: manifest.datasetId, out: manifest.path, ...(d.model === undefined ? {} : { model: d.model }), snapshotsRead: manifest.snapshots, snapshotsWritten: [] };
}

/** The project's retention (`runRetention`), run by the scheduler (or `sluice run`) as itself. */
async function retentionJob(jc: JobContext, project: Project, options: JobRunOptions): Promise<JobStats> {
  const report = await runRetention(jc, project, { principal: options.principal ?? operatorPrincipal(options.trigger), ...(options.signal === undefined ? {} : { signal: options.signal }) });
  const rows = report.sources.reduce((n, s) => n + s.purge.rows, 0);
  return { rowsIn: rows, rowsOut: 0, removedRows: rows, removedBytes: report.sources.reduce((n, s) => n + s.purge.bytes + s.bytesDeleted, 0), snapshotsRead: {}, snapshotsWritten: [] };
}

/** The work of one job of the catalogue, given its run's options (its signal among them). */
function jobWork(jc: JobContext, project: Project, job: JobDefinition, options: JobRunOptions): Promise<JobStats> {
  switch (job.kind) {
    case 'ingest': return ingestJob(jc, project, job, options);
    case 'transform': return transformJob(jc, project, job, options);
    case 'materialize': return materializeJob(jc, project, job, options);
    case 'dataset': return datasetJob(jc, project, job, options);
    case 'retention': return retentionJob(jc, project, options);
  }
}

const JOB_TARGET = { ingest: 'source', transform: 'source', materialize: 'views', dataset: 'dataset', retention: 'project' } as const;

/**
 * Runs one job of the catalogue as one tracked run named after the job (`ingest:payments`),
 * with its trigger, run key, attempt and partition in the run's params and uniform stats
 * (`JobStats`). The work the job does is tracked too (the ingest of each file, the transform,
 * the materialize), as runs whose `parentRunId` is this one.
 *
 * @example
 * await runJob(jc, project, 'materialize:fraud_v1', { trigger: 'manual' });
 */
export async function runJob(jc: JobContext, project: Project, name: string, options: JobRunOptions = {}): Promise<JobStats> {
  const job = findJob(project, name);
  if (options.partition && !supportsPartitions(job)) {
    throw new ValidationError('VALIDATION_FAILED', `job "${name}" does not take a partition; backfill an ingest job (its files are picked by the date in their names)`);
  }
  if (options.rerun && options.partition === undefined) {
    throw new ValidationError('VALIDATION_FAILED', `job "${name}": a re-run takes a partition; re-run dates with "sluice backfill ${name} --from ... --to ... --rerun"`);
  }
  const params: Record<string, unknown> = {
    trigger: options.trigger ?? 'manual',
    [JOB_TARGET[job.kind]]: job.kind === 'materialize' ? [job.target] : job.target,
    ...(options.runKey === undefined ? {} : { runKey: options.runKey }),
    ...(options.attempt === undefined ? {} : { attempt: options.attempt }),
    ...(options.partition === undefined ? {} : { partition: { start: toIso(options.partition.start), end: toIso(options.partition.end) } }),
    ...(options.rerun ? { rerun: true } : {}),
    ...(options.principal === undefined ? {} : { principal: options.principal.name }),
  };
  const work = async (signal: AbortSignal | undefined): Promise<JobStats> => {
    signal?.throwIfAborted();
    const withSignal = signal === undefined ? options : { ...options, signal };
    const stats = await jobWork(jc, project, job, withSignal);
    // Stopped past its commit point, the work finished: the run succeeded, and says it was asked to stop.
    return signal?.aborted ? { ...stats, stopRequested: (signal.reason as Error).message } : stats;
  };
  return trackRun(jc, name, params, async () => {
    await options.onStart?.();
    if (options.principal) await authorizeJob(jc, project, job, options.principal, { trigger: String(params.trigger), ...(options.runKey === undefined ? {} : { runKey: options.runKey }) });
    const stats = options.limit ? await options.limit(work) : await work(options.signal);
    return { result: stats, stats };
  }, project);
}

/**
 * A job and the jobs upstream of it, in dependency order (upstream first), each once.
 *
 * @example
 * withUpstream(project, 'materialize:fraud_v1').map((j) => j.name); // ['ingest:payments', 'materialize:fraud_v1']
 */
export function withUpstream(project: Project, name: string): JobDefinition[] {
  const jobs = new Map(projectJobs(project).map((j) => [j.name, j]));
  const ordered: JobDefinition[] = [];
  const placed = new Set<string>();
  const place = (job: JobDefinition): void => {
    if (placed.has(job.name)) return;
    placed.add(job.name);
    for (const up of job.upstream) place(jobs.get(up)!);
    ordered.push(job);
  };
  place(findJob(project, name));
  return ordered;
}

export interface JobSequenceResult {
  readonly ran: readonly { readonly job: string; readonly stats: JobStats }[];
  readonly failed?: { readonly job: string; readonly error: Error };
  /** Jobs not run because one before them failed. */
  readonly notRun: readonly string[];
}

/**
 * Runs jobs in order, stopping at the first failure: the jobs after a failed one (its
 * downstream) do not run and are listed in `notRun`.
 */
export async function runJobsInOrder(jc: JobContext, project: Project, jobs: readonly JobDefinition[], options: JobRunOptions = {}, onJob?: (job: string, done: number, total: number) => void): Promise<JobSequenceResult> {
  const ran: { job: string; stats: JobStats }[] = [];
  for (const [i, job] of jobs.entries()) {
    onJob?.(job.name, i, jobs.length);
    try {
      ran.push({ job: job.name, stats: await runJob(jc, project, job.name, options) });
    } catch (error) {
      return { ran, failed: { job: job.name, error: error as Error }, notRun: jobs.slice(i + 1).map((j) => j.name) };
    }
  }
  onJob?.('', jobs.length, jobs.length);
  return { ran, notRun: [] };
}

