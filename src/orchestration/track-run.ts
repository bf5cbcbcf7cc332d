import { AsyncLocalStorage } from 'node:async_hooks';
import type { SluiceContext } from '../context.js';
import type { Project } from '../definitions/index.js';
import { runLeaseName, type MetadataStore, type RunRecord, type RunStatus } from '../storage/metadata/metadata-store.js';
import { InterruptedError, TimeoutError, isSluiceError } from '../errors.js';
import { errorWithCause, reportRunHealth } from './job-health.js';
import { DEFAULT_LEASE_TTL_MS, heartbeat, holderIsGone, newLeaseHolder } from './lease.js';
import { currentLogger, withLogger, type Logger } from '../observability/log.js';
import { endJobSpan, startJobSpan } from '../observability/tracing.js';

/** The run being tracked in this async context, so a run started inside another records its parent. */
/** The run tracked in this async context, and the logger it was started under (its run's child is made from that). */
const currentRun = new AsyncLocalStorage<{ readonly runId: string; readonly baseLogger: Logger }>();

/** The stop of the job this async context runs for (see `withStopSignal`). */
const currentStop = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `work` as the work of a job that `signal` stops (its timeout, a stopping scheduler): a run
 * tracked inside it that fails once the signal has aborted fails with the stop's reason (see
 * `stoppedError`), not with what the stop interrupted (DuckDB's "INTERRUPT Error").
 *
 * @example
 * await withStopSignal(controller.signal, () => materialize(ctx, project, { signal: controller.signal }));
 */
export function withStopSignal<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  return currentStop.run(signal, work);
}

/**
 * The error of work that failed after `signal` aborted: the stop's reason (an InterruptedError or
 * a TimeoutError, so its code is INTERRUPTED or TIMED_OUT), with the work's own error as its cause.
 *
 * @example
 * stoppedError(signal, new AdapterError('ADAPTER_FAILED', 'DuckDB: INTERRUPT Error')); // the signal's reason, caused by it
 */
export function stoppedError(signal: AbortSignal, error: unknown): Error {
  const reason = signal.reason as Error;
  if (error === reason || (isSluiceError(error) && (error.code === 'INTERRUPTED' || error.code === 'TIMED_OUT'))) return error as Error;
  const details = isSluiceError(reason) && reason.details !== undefined ? { details: reason.details } : {};
  return reason instanceof TimeoutError
    ? new TimeoutError('TIMED_OUT', reason.message, { ...details, cause: error })
    : new InterruptedError('INTERRUPTED', reason.message, { ...details, cause: error });
}

/**
 * Clean-up of work that may have committed (dropping its temporary tables): once the work's job
 * was stopped, the interrupts of the stop may fail it, and that failure must neither fail work
 * that committed nor hide the error of work that did not (the job's engine is closed after it).
 * Without a stop, its failure is the work's.
 *
 * @example
 * await cleanUpAfterStop(() => engine.run('DROP TABLE IF EXISTS spine'));
 */
export async function cleanUpAfterStop(cleanUp: () => Promise<unknown>): Promise<void> {
  try {
    await cleanUp();
  } catch (error) {
    if (currentStop.getStore()?.aborted !== true) throw error;
  }
}

/** Ends a run of this process that is still running as failed with `error` (see `abandonRuns`). */
type Abandon = (error: Error) => Promise<void>;

/** The runs this process is running (`trackRun`), each with how to end it if the process stops first. */
const runsInProgress = new Map<string, Abandon>();

/**
 * Records every run this process is still running as failed with `reason` (say `interrupted
 * (SIGINT): ingest of "payments" stopped`), ended now, with its FAIL lineage event and its
 * `job_failed` condition, as `trackRun` records a failure: for a process about to exit on a signal,
 * whose runs would otherwise show as "the process running it died", ended whenever a later command
 * noticed. Returns how many runs it ended.
 */
export async function abandonRuns(reason: string): Promise<number> {
  const abandoned = [...runsInProgress.values()];
  runsInProgress.clear();
  for (const abandon of abandoned) await abandon(new Error(reason));
  return abandoned.length;
}

/**
 * Marks every run whose process is gone as failed ("the process running it died; last known
 * alive at ..."), ended at its lease's last renewal, so no run stays `running` forever and none
 * is recorded as running until whenever its death was noticed. Only through `reapDeadRuns`,
 * which also reports each one.
 */
async function failDeadRuns(metadata: MetadataStore): Promise<RunRecord[]> {
  return metadata.failDeadRuns(holderIsGone);
}

/**
 * Fails the runs whose process died (see `failDeadRuns`) and gives each its terminal lineage
 * event and its `job_failed` condition. Called when a job starts, at each scheduler tick and by
 * every listing of runs. Without `project`, the applied one names the FAIL event's job and
 * datasets, so it ends the run its START began (`materialize.spend`, not `materialize`).
 */
export async function reapDeadRuns(ctx: SluiceContext, project?: Project): Promise<RunRecord[]> {
  const dead = await failDeadRuns(ctx.metadata);
  const named = dead.length > 0 && ctx.lineage && !project ? (await ctx.metadata.latestRegistry())?.project : project;
  for (const run of dead) {
    const error = new Error(run.error ?? 'the process running it died');
    // The event is dated when the run ended (its last sign of life), as its run record is, not when its death was noticed.
    ctx.lineage?.emit({ eventType: 'FAIL', runId: run.id, job: run.job, params: run.params, error, at: run.finishedAt ?? Date.now(), ...(named ? { project: named } : {}) });
    await reportRunHealth(ctx, run, { ok: false, error });
  }
  return dead;
}

/**
 * Run history, newest first, with runs of dead processes shown as failed; optionally of one job
 * or status. The dead runs are reaped with `reapDeadRuns`, so the listing that finds one (say
 * `sluice runs` after a Ctrl-C) also fires its `job_failed` condition: once failed, no later
 * reap would find the run again.
 */
export async function listRuns(ctx: SluiceContext, limit: number, filter: { job?: string; status?: RunStatus } = {}): Promise<RunRecord[]> {
  await reapDeadRuns(ctx);
  return ctx.metadata.listRuns(limit, filter);
}

/**
 * Runs a job and records it in run history: `running` first, then `succeeded` with its stats
 * or `failed` with the error message (and its cause and code in stats), so no failed job is
 * invisible. The run holds a lease (heartbeat every third of its ttl) so that a run whose
 * process was killed is found and marked failed by the next command. Each outcome is reported
 * as a health condition on `job:<name>` (`job_failed`, or `job_hung` for a timeout; cleared by
 * a success; see `reportRunHealth`). Each transition is also an OpenLineage event (START, then
 * COMPLETE or FAIL) when lineage is configured; with `project`, the events name the job's
 * datasets. A run started inside another records `parentRunId`. Every log line of the run
 * carries its `runId` and `job`, once, and a nested run's its `parentRunId` (`currentLogger()` inside `body` is the run's child logger), and
 * the run is one trace span when tracing is configured.
 */
export async function trackRun<T>(
  ctx: SluiceContext,
  job: string,
  params: Record<string, unknown>,
  body: () => Promise<{ result: T; stats: Record<string, unknown> }>,
  project?: Project,
): Promise<T> {
  await reapDeadRuns(ctx, project);
  const parent = currentRun.getStore();
  const recorded = parent ? { ...params, parentRunId: parent.runId } : params;
  const holder = newLeaseHolder();
  const run = await ctx.metadata.startRun(job, recorded, { holder, ttlMs: DEFAULT_LEASE_TTL_MS });
  const beat = heartbeat(ctx.metadata, runLeaseName(run.id), holder.id, DEFAULT_LEASE_TTL_MS);
  const transition = { runId: run.id, job, params, ...(project ? { project } : {}) };
  // The events are dated as the run record is: START at its start, the end never before it.
  const endedAt = () => Math.max(Date.now(), run.startedAt);
  ctx.lineage?.emit({ ...transition, eventType: 'START', at: run.startedAt });
  const span = startJobSpan(job, run.id, typeof params.source === 'string' ? { 'sluice.source': params.source } : {});
  // A child of the parent run's own base logger, not of its run logger: a line carries one runId and job.
  const baseLogger = parent?.baseLogger ?? currentLogger();
  const log = baseLogger.child({ runId: run.id, job, ...(parent ? { parentRunId: parent.runId } : {}), ...(span ? { traceId: span.spanContext().traceId } : {}) });
  log.info({ params: recorded }, 'run started');
  const fail = async (error: unknown): Promise<void> => {
    const { message, cause } = errorWithCause(error);
    const code = (error as { code?: unknown }).code;
    const stats = { ...(typeof code === 'string' ? { errorCode: code } : {}), ...(cause ? { cause } : {}) };
    await ctx.metadata.finishRun(run.id, { status: 'failed', error: message, ...(Object.keys(stats).length > 0 ? { stats } : {}) });
    ctx.lineage?.emit({ ...transition, eventType: 'FAIL', error: error as Error, at: endedAt() });
    log.error({ err: { message, ...(typeof code === 'string' ? { code } : {}) }, durationMs: Date.now() - run.startedAt }, 'run failed');
    endJobSpan(span, { error: error as Error });
    // A failure to record the condition must not hide the job's own error.
    await reportRunHealth(ctx, run, { ok: false, error }).catch(() => undefined);
  };
  runsInProgress.set(run.id, fail);
  try {
    const { result, stats } = await withLogger(log, () => currentRun.run({ runId: run.id, baseLogger }, body));
    // Taken out before its outcome is written, so that a signal cannot record it as abandoned after.
    if (!runsInProgress.delete(run.id)) return result;
    await ctx.metadata.finishRun(run.id, { status: 'succeeded', stats });
    ctx.lineage?.emit({ ...transition, eventType: 'COMPLETE', stats, at: endedAt() });
    log.info({ stats, durationMs: Date.now() - run.startedAt }, 'run succeeded');
    endJobSpan(span, { stats });
    await reportRunHealth(ctx, run, { ok: true });
    return result;
  } catch (error) {
    const stop = currentStop.getStore();
    const failure = stop?.aborted ? stoppedError(stop, error) : error;
    if (runsInProgress.delete(run.id)) await fail(failure);
    throw failure;
  } finally {
    beat.stop();
  }
}

/** The id of the run tracked in this async context, if any. */
export function currentRunId(): string | undefined {
  return currentRun.getStore()?.runId;
}
