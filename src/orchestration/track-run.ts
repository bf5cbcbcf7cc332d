import type { SluiceContext } from '../context.js';
import type { Project } from '../definitions/index.js';
import { runLeaseName, type MetadataStore, type RunRecord } from '../storage/metadata/metadata-store.js';
import { DEFAULT_LEASE_TTL_MS, heartbeat, holderIsGone, newLeaseHolder } from './lease.js';
import { currentLogger, withLogger } from '../observability/log.js';
import { endJobSpan, startJobSpan } from '../observability/tracing.js';

/**
 * Marks every run whose process is gone as failed ("the process running it died"), so no run
 * stays `running` forever. Called when a job starts and before runs are listed.
 */
export async function failDeadRuns(metadata: MetadataStore): Promise<RunRecord[]> {
  return metadata.failDeadRuns(holderIsGone);
}

/** Run history, newest first, with runs of dead processes shown as failed. */
export async function listRuns(metadata: MetadataStore, limit: number): Promise<RunRecord[]> {
  await failDeadRuns(metadata);
  return metadata.listRuns(limit);
}

/**
 * Runs a job and records it in run history: `running` first, then `succeeded` with its stats
 * or `failed` with the error message, so no failed job is invisible. The run holds a lease
 * (heartbeat every third of its ttl) so that a run whose process was killed is found and
 * marked failed by the next command. Each transition is also an OpenLineage event (START, then
 * COMPLETE or FAIL) when lineage is configured; with `project`, the events name the job's datasets.
 * Every log line of the run carries its `runId` and `job` (`currentLogger()` inside `body` is the
 * run's child logger), and the run is one trace span when tracing is configured.
 */
export async function trackRun<T>(
  ctx: SluiceContext,
  job: string,
  params: Record<string, unknown>,
  body: () => Promise<{ result: T; stats: Record<string, unknown> }>,
  project?: Project,
): Promise<T> {
  // A run whose process died gets its terminal lineage event here, from the next job.
  for (const dead of await failDeadRuns(ctx.metadata)) {
    const error: Error = { name: 'Error', message: dead.error ?? 'the process running it died' };
    ctx.lineage?.emit({ eventType: 'FAIL', runId: dead.id, job: dead.job, params: dead.params, error, at: Date.now(), ...(project ? { project } : {}) });
  }
  const holder = newLeaseHolder();
  const run = await ctx.metadata.startRun(job, params, { holder, ttlMs: DEFAULT_LEASE_TTL_MS });
  const beat = heartbeat(ctx.metadata, runLeaseName(run.id), holder.id, DEFAULT_LEASE_TTL_MS);
  const transition = { runId: run.id, job, params, ...(project ? { project } : {}) };
  ctx.lineage?.emit({ ...transition, eventType: 'START', at: Date.now() });
  const span = startJobSpan(job, run.id, typeof params.source === 'string' ? { 'sluice.source': params.source } : {});
  const log = currentLogger().child({ runId: run.id, job, ...(span ? { traceId: span.spanContext().traceId } : {}) });
  log.info({ params }, 'run started');
  try {
    const { result, stats } = await withLogger(log, body);
    await ctx.metadata.finishRun(run.id, { status: 'succeeded', stats });
    ctx.lineage?.emit({ ...transition, eventType: 'COMPLETE', stats, at: Date.now() });
    log.info({ stats, durationMs: Date.now() - run.startedAt }, 'run succeeded');
    endJobSpan(span, { stats });
    return result;
  } catch (error) {
    await ctx.metadata.finishRun(run.id, { status: 'failed', error: (error as Error).message });
    ctx.lineage?.emit({ ...transition, eventType: 'FAIL', error: error as Error, at: Date.now() });
    log.error({ err: { message: (error as Error).message, code: (error as { code?: unknown }).code }, durationMs: Date.now() - run.startedAt }, 'run failed');
    endJobSpan(span, { error: error as Error });
    throw error;
  } finally {
    beat.stop();
  }
}
