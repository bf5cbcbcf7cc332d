import type { SluiceContext } from '../context.js';
import { isSluiceError } from '../errors.js';
import type { Condition } from '../storage/metadata/health-store.js';
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

const RUN_KINDS = ['job_failed', 'job_hung'] as const;

/** The views a materialize run covers (`params.views`, of `materialize` or a catalogue job `materialize:<view>`); undefined for other jobs. */
function materializedViews(run: Pick<RunRecord, 'job' | 'params'>): readonly string[] | undefined {
  if (run.job !== 'materialize' && !run.job.startsWith('materialize:')) return undefined;
  return Array.isArray(run.params.views) ? run.params.views.map(String) : undefined;
}

/**
 * The views a failed materialize run leaves to do: those it covers that it did not switch in (no
 * materialization recorded by this run), plus those a still-firing all-views condition already
 * waited for that this run did not materialize either.
 */
async function viewsLeft(ctx: SluiceContext, run: Pick<RunRecord, 'id'>, views: readonly string[], firing: Condition | undefined): Promise<string[]> {
  const done = new Set((await ctx.metadata.materialized.list()).filter((m) => m.runId === run.id).map((m) => m.view));
  const before = Array.isArray(firing?.details?.viewsLeft) ? (firing.details.viewsLeft as unknown[]).map(String) : [];
  return [...new Set([...views, ...before])].filter((v) => !done.has(v)).sort();
}

/**
 * A successful materialize run ends what it covers: the per-view conditions of its views
 * (`job:materialize:<view>`), and its views' part of the all-views condition `job:materialize`
 * (a failed run of several views), which ends once every view that failed run left has been
 * materialized since, by one run or several (`sluice materialize --views a`, then `b`).
 */
async function endMaterializeConditions(ctx: SluiceContext, run: Pick<RunRecord, 'id'>, views: readonly string[], at: number): Promise<void> {
  const covered = new Set(views);
  for (const condition of await ctx.metadata.health.list({ firing: true })) {
    if (!(RUN_KINDS as readonly string[]).includes(condition.kind)) continue;
    const { kind, subject, severity } = condition;
    if (subject.startsWith('job:materialize:') && covered.has(subject.slice('job:materialize:'.length))) {
      await ctx.metadata.health.report({ kind, subject, firing: false, severity, message: `job ${subject.slice(4)} succeeded (run ${run.id})`, details: { runId: run.id } }, at);
    } else if (subject === 'job:materialize') {
      // A condition fired before views were recorded (older code) ends with any run of several views, as it did then.
      const left = Array.isArray(condition.details?.viewsLeft) ? (condition.details.viewsLeft as unknown[]).map(String).filter((v) => !covered.has(v)) : views.length > 1 ? [] : undefined;
      if (left === undefined) continue;
      const message = left.length === 0
        ? `job materialize: every view its failed run left was materialized since (last by run ${run.id})`
        : `${String(condition.message).replace(/; views not materialized since: .*$/, '')}; views not materialized since: ${left.join(', ')}`;
      await ctx.metadata.health.report({ kind, subject, firing: left.length > 0, severity, message, details: { ...condition.details, viewsLeft: left, lastRunId: run.id } }, at);
    }
  }
}

/**
 * Reports a run's outcome as health conditions on `job:<name>`: a failure fires `job_failed`
 * (a timeout: `job_hung`), a success clears both. Only transitions make alerts (see `HealthStore`).
 * A failed run of several views (a full `sluice materialize`) fires `job:materialize` with the
 * views it left (`details.viewsLeft`, named in its message); materialize successes end it view by
 * view (`endMaterializeConditions`), and one of several views ends each covered view's own condition.
 */
export async function reportRunHealth(ctx: SluiceContext, run: Pick<RunRecord, 'id' | 'job' | 'params'>, outcome: { ok: true } | { ok: false; error: unknown }): Promise<void> {
  const name = jobSubjectName(run.job, run.params);
  const subject = `job:${name}`;
  const at = ctx.now();
  const views = materializedViews(run);
  if (outcome.ok) {
    if (views !== undefined) return endMaterializeConditions(ctx, run, views, at);
    for (const kind of RUN_KINDS) {
      await ctx.metadata.health.report({ kind, subject, firing: false, severity: 'error', message: `job ${name} succeeded (run ${run.id})`, details: { runId: run.id } }, at);
    }
    return;
  }
  const { message, cause } = errorWithCause(outcome.error);
  const hung = isTimeout(outcome.error);
  const kind = hung ? 'job_hung' : 'job_failed';
  const firing = subject === 'job:materialize' && views !== undefined ? (await ctx.metadata.health.list({ firing: true, kind })).find((c) => c.subject === subject) : undefined;
  const left = subject === 'job:materialize' && views !== undefined ? await viewsLeft(ctx, run, views, firing) : undefined;
  await ctx.metadata.health.report({
    kind, subject, firing: true, severity: 'error',
    message: `job ${name} ${hung ? 'hung' : 'failed'} (run ${run.id}): ${message}${left ? `; views not materialized since: ${left.join(', ')}` : ''}`,
    details: { runId: run.id, error: message, ...(cause ? { cause } : {}), ...(typeof run.params.runKey === 'string' ? { runKey: run.params.runKey } : {}), ...(left ? { viewsLeft: left } : {}) },
  }, at);
}

/**
 * Whether a failed run's condition was ended after it failed, by a later run that covered its work
 * (`endMaterializeConditions`: per-view runs after a failed full materialize, or a full one after a
 * failed per-view one), so the failure is history even though it is still its job's last run.
 *
 * @example
 * failureEndedSince(run, await ctx.metadata.health.list({ firing: false }));
 */
export function failureEndedSince(run: Pick<RunRecord, 'job' | 'params' | 'startedAt' | 'finishedAt'>, resolved: readonly Condition[]): boolean {
  const subject = `job:${jobSubjectName(run.job, run.params)}`;
  const failedAt = run.finishedAt ?? run.startedAt;
  return resolved.some((c) => c.subject === subject && (RUN_KINDS as readonly string[]).includes(c.kind) && c.resolvedAt !== null && c.resolvedAt >= failedAt);
}
