import type { SluiceContext } from '../context.js';
import { runLeaseName, type MetadataStore, type RunRecord } from '../storage/metadata/metadata-store.js';
import { DEFAULT_LEASE_TTL_MS, heartbeat, holderIsGone, newLeaseHolder } from './lease.js';

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
 * marked failed by the next command.
 */
export async function trackRun<T>(
  ctx: SluiceContext,
  job: string,
  params: Record<string, unknown>,
  body: () => Promise<{ result: T; stats: Record<string, unknown> }>,
): Promise<T> {
  await failDeadRuns(ctx.metadata);
  const holder = newLeaseHolder();
  const run = await ctx.metadata.startRun(job, params, { holder, ttlMs: DEFAULT_LEASE_TTL_MS });
  const beat = heartbeat(ctx.metadata, runLeaseName(run.id), holder.id, DEFAULT_LEASE_TTL_MS);
  try {
    const { result, stats } = await body();
    await ctx.metadata.finishRun(run.id, { status: 'succeeded', stats });
    return result;
  } catch (error) {
    await ctx.metadata.finishRun(run.id, { status: 'failed', error: (error as Error).message });
    throw error;
  } finally {
    beat.stop();
  }
}
