import type { SluiceContext } from '../context.js';

/**
 * Runs a job and records it in run history: `running` first, then `succeeded` with its stats
 * or `failed` with the error message, so no failed job is invisible.
 */
export async function trackRun<T>(
  ctx: SluiceContext,
  job: string,
  params: Record<string, unknown>,
  body: () => Promise<{ result: T; stats: Record<string, unknown> }>,
): Promise<T> {
  const run = await ctx.metadata.startRun(job, params);
  try {
    const { result, stats } = await body();
    await ctx.metadata.finishRun(run.id, { status: 'succeeded', stats });
    return result;
  } catch (error) {
    await ctx.metadata.finishRun(run.id, { status: 'failed', error: (error as Error).message });
    throw error;
  }
}
