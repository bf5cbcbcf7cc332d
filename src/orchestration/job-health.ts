import type { SluiceContext } from '../context.js';
import { isSluiceError } from '../errors.js';
import type { RunRecord } from '../storage/metadata/metadata-store.js';

/**
 * The catalogue name of the job a run belongs to, for its health subject `job:<name>`: a
 * catalogue job's own name (`materialize:fraud_v1`), or, for the runs that CLI commands start
 * (`ingest`, `transform`, `materialize` of one view), the same name derived from what they act on,
 * so `sluice ingest payments` and the job `ingest:payments` share one condition.
 *
 * @example
 * jobSubjectName('ingest', { source: 'payments' }); // 'ingest:payments'
 */
export function jobSubjectName(job: string, params: Readonly<Record<string, unknown>>): string {
  if (job.includes(':')) return job;
  if ((job === 'ingest' || job === 'transform') && typeof params.source === 'string') return `${job}:${params.source}`;
  if (job === 'materialize' && Array.isArray(params.views) && params.views.length === 1) return `materialize:${String(params.views[0])}`;
  return job;
}

/** True for the error of a run stopped at its timeout. */
export function isTimeout(error: unknown): boolean {
  return isSluiceError(error) && error.code === 'TIMED_OUT';
}

/** The message of an Error, or of an error-like object (`{ message }`, as stored or deserialized), never "[object Object]". */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** An error's message followed by the messages of its causes, as run history records it. */
export function errorWithCause(error: unknown): { message: string; cause?: string } {
  const message = messageOf(error);
  const causes: string[] = [];
  for (let c = (error as { cause?: unknown } | undefined)?.cause; c !== undefined && causes.length < 5; c = (c as { cause?: unknown }).cause) {
    const text = messageOf(c);
    if (!message.includes(text)) causes.push(text);
    if (!(c instanceof Error)) break;
  }
  return causes.length > 0 ? { message, cause: causes.join(' <- ') } : { message };
}

/**
 * Reports a run's outcome as health conditions on `job:<name>`: a failure fires `job_failed`
 * (a timeout: `job_hung`), a success clears both. Only transitions make alerts (see `HealthStore`).
 */
export async function reportRunHealth(ctx: SluiceContext, run: Pick<RunRecord, 'id' | 'job' | 'params'>, outcome: { ok: true } | { ok: false; error: unknown }): Promise<void> {
  const name = jobSubjectName(run.job, run.params);
  const subject = `job:${name}`;
  const at = ctx.now();
  if (outcome.ok) {
    for (const kind of ['job_failed', 'job_hung']) {
      await ctx.metadata.health.report({ kind, subject, firing: false, severity: 'error', message: `job ${name} succeeded (run ${run.id})`, details: { runId: run.id } }, at);
    }
    return;
  }
  const { message, cause } = errorWithCause(outcome.error);
  const hung = isTimeout(outcome.error);
  await ctx.metadata.health.report({
    kind: hung ? 'job_hung' : 'job_failed', subject, firing: true, severity: 'error',
    message: `job ${name} ${hung ? 'hung' : 'failed'} (run ${run.id}): ${message}`,
    details: { runId: run.id, error: message, ...(cause ? { cause } : {}), ...(typeof run.params.runKey === 'string' ? { runKey: run.params.runKey } : {}) },
  }, at);
}
