import type { SluiceContext } from '../context.js';
import { isSluiceError } from '../errors.js';
import type { Condition } from '../storage/metadata/health-store.js';
import type { RunRecord } from '../storage/metadata/metadata-store.js';

/**
 * The catalogue name of the job a run belongs to, for its health subject `job:<name>`: a
 * catalogue job's own name (`materialize:fraud_v1`), or, for the runs that CLI commands start
 * (`ingest`, `transform`, `materialize` of one view), the same name derived from what they act on,
 * so `sluice ingest payments` and the job `ingest:payments` share one condition; a dataset build
 * (`sluice dataset build`) is named by its output (`dataset_build:<out>`), so one output's success
 * does not end another's failure.
 *
 * @example
 * jobSubjectName('ingest', { source: 'payments' }); // 'ingest:payments'
 */
export function jobSubjectName(job: string, params: Readonly<Record<string, unknown>>): string {
  if (job.includes(':')) return job;
  if ((job === 'ingest' || job === 'transform') && typeof params.source === 'string') return `${job}:${params.source}`;
  if (job === 'materialize' && Array.isArray(params.views) && params.views.length === 1) return `materialize:${String(params.views[0])}`;
  if (job === 'dataset_build' && typeof params.out === 'string') return `dataset_build:${params.out}`;
  return job;
}

/**
 * True for a run of a job's work (each file's ingest of `ingest:payments`, the build of
 * `dataset:train`): a run started inside another, which records its `parentRunId`. Its outcome is
 * its job run's to report: the job fails when its work does, and a part of the work that
 * succeeded says nothing of the job.
 *
 * @example
 * isWorkRun({ params: { source: 'payments', parentRunId: 'r1' } }); // true
 */
export function isWorkRun(run: Pick<RunRecord, 'params'>): boolean {
  return typeof run.params.parentRunId === 'string';
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

/** The views a materialize run switched in (a materialization recorded by this run). */
async function switchedIn(ctx: SluiceContext, run: Pick<RunRecord, 'id'>): Promise<Set<string>> {
  return new Set((await ctx.metadata.materialized.list()).filter((m) => m.runId === run.id).map((m) => m.view));
}

/**
 * The views materialized since `run` started by another run (a run that started after it): a run
 * whose failure is reported late (its process died, reaped by a later command) does not leave
 * the views a later run switched in meanwhile. Run start times are compared with each other only.
 */
async function materializedSince(ctx: SluiceContext, run: Pick<RunRecord, 'id'> & { readonly startedAt?: number }): Promise<Set<string>> {
  const { startedAt } = run;
  if (startedAt === undefined) return new Set();
  const later = new Set((await ctx.metadata.listRuns(1_000, { job: 'materialize' })).filter((r) => r.id !== run.id && r.startedAt >= startedAt).map((r) => r.id));
  return new Set((await ctx.metadata.materialized.list()).filter((m) => m.runId !== null && later.has(m.runId)).map((m) => m.view));
}

/** The views a still-firing all-views condition waits for (`details.viewsLeft`). */
function waitingFor(condition: Condition | undefined): string[] | undefined {
  return Array.isArray(condition?.details?.viewsLeft) ? (condition.details.viewsLeft as unknown[]).map(String) : undefined;
}

/** The run whose failure a condition reports (`details.runId` while firing). */
function failedRunOf(condition: Condition): unknown {
  return condition.details?.runId;
}

/** `; views not materialized since: a, b`, or nothing when no view is left. */
function leftSuffix(left: readonly string[]): string {
  return left.length > 0 ? `; views not materialized since: ${left.join(', ')}` : '';
}

/**
 * Narrows the all-views condition `job:materialize` (of `kind`) to the views `leftOf` leaves of
 * those it waits for: it ends (naming `ended`) when none is left, else keeps firing with them;
 * nothing changes when `leftOf` says undefined. The views are read and written in one store
 * transaction (`HealthStore.update`), so a failure another process reports meanwhile is not
 * overwritten. An ending records the failed run it ends (`details.failedRunId`) for
 * {@link failureEndedSince}. True when it changed the condition.
 */
async function narrowAllViews(ctx: SluiceContext, kind: string, leftOf: (condition: Condition) => readonly string[] | undefined, ended: string, details: Readonly<Record<string, unknown>>, at: number): Promise<boolean> {
  const changed = await ctx.metadata.health.update(kind, 'job:materialize', (condition) => {
    const left = condition?.firing === true ? leftOf(condition) : undefined;
    if (condition === undefined || left === undefined) return undefined;
    const message = left.length === 0 ? ended : `${String(condition.message).replace(/; views not materialized since: .*$/, '')}${leftSuffix(left)}`;
    const ending = left.length === 0 ? { failedRunId: failedRunOf(condition) } : {};
    return { firing: left.length > 0, severity: condition.severity, message, details: { ...condition.details, viewsLeft: left, ...details, ...ending } };
  }, at);
  return changed !== undefined;
}

/**
 * The views of a run end their own conditions (`job:materialize:<view>`): those of a successful
 * run, and those a failed run of several views did switch in, except the run's own subject.
 */
async function endViewConditions(ctx: SluiceContext, run: Pick<RunRecord, 'id'>, views: ReadonlySet<string>, own: string | undefined, at: number): Promise<void> {
  for (const condition of await ctx.metadata.health.list({ firing: true })) {
    const { kind, subject, severity } = condition;
    if (!(RUN_KINDS as readonly string[]).includes(kind) || subject === own || !subject.startsWith('job:materialize:') || !views.has(subject.slice('job:materialize:'.length))) continue;
    await ctx.metadata.health.report({ kind, subject, firing: false, severity, message: `job ${subject.slice(4)} succeeded (run ${run.id})`, details: { runId: run.id, failedRunId: failedRunOf(condition) } }, at);
  }
}

/**
 * A successful materialize run ends what it covers: the per-view conditions of its views
 * (`job:materialize:<view>`), and its views' part of the all-views condition `job:materialize`
 * (a failed run of several views), which ends once every view that failed run left has been
 * materialized since, by one run or several (`sluice materialize --views a`, then `b`).
 */
async function endMaterializeConditions(ctx: SluiceContext, run: Pick<RunRecord, 'id'>, views: readonly string[], at: number): Promise<void> {
  const covered = new Set(views);
  // A success ends every view condition it covers, its own (`job:materialize:<view>` of a one-view run) included.
  await endViewConditions(ctx, run, covered, undefined, at);
  for (const condition of await ctx.metadata.health.list({ firing: true })) {
    if (!(RUN_KINDS as readonly string[]).includes(condition.kind) || condition.subject !== 'job:materialize') continue;
    // A condition fired before views were recorded (older code) ends with any run of several views, as it did then.
    const leftOf = (c: Condition) => waitingFor(c)?.filter((v) => !covered.has(v)) ?? (views.length > 1 ? [] : undefined);
    await narrowAllViews(ctx, condition.kind, leftOf, `job materialize: every view its failed run left was materialized since (last by run ${run.id})`, { lastRunId: run.id }, at);
  }
}

/**
 * Views the project no longer declares count as done: each firing all-views condition
 * `job:materialize` stops waiting for them, and ends when no declared view is left (no run can
 * materialize a removed view, so left waiting it would keep `sluice status` unhealthy for good).
 * Called by `clearRemovedConditions`, with the rest of what removed definitions clear.
 *
 * @example
 * await endUndeclaredViews(ctx, new Set(project.featureViews.map((v) => v.name)));
 */
export async function endUndeclaredViews(ctx: SluiceContext, declared: ReadonlySet<string>): Promise<number> {
  let changed = 0;
  const leftOf = (condition: Condition) => {
    const waiting = waitingFor(condition);
    const left = waiting?.filter((v) => declared.has(v));
    return waiting === undefined || left === undefined || left.length === waiting.length ? undefined : left;
  };
  for (const condition of await ctx.metadata.health.list({ firing: true })) {
    if (condition.subject !== 'job:materialize' || !(RUN_KINDS as readonly string[]).includes(condition.kind) || leftOf(condition) === undefined) continue;
    if (await narrowAllViews(ctx, condition.kind, leftOf, 'job materialize: every view its failed run left was materialized since or is no longer declared', {}, ctx.now())) changed++;
  }
  return changed;
}

/**
 * Reports a run's outcome as health conditions on `job:<name>`: a failure fires `job_failed`
 * (a timeout: `job_hung`), a success clears both. Only transitions make alerts (see `HealthStore`).
 * A failed run of several views (a full `sluice materialize`) fires `job:materialize` with the
 * views it left (`details.viewsLeft`: those it covers that it did not switch in, plus those the
 * still-firing condition waited for that it did not switch in either, less those a run started
 * after it switched in (`materializedSince`: a dead run reaped late); named in its message, none
 * named when it switched in every view); materialize successes end it view by view
 * (`endMaterializeConditions`). A run of several views ends the own condition of each view it
 * switched in, successful or not. A work run (`isWorkRun`) reports nothing: its job run does.
 */
export async function reportRunHealth(ctx: SluiceContext, run: Pick<RunRecord, 'id' | 'job' | 'params'> & { readonly startedAt?: number }, outcome: { ok: true } | { ok: false; error: unknown }): Promise<void> {
  if (isWorkRun(run)) return;
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
  const done = views !== undefined ? await switchedIn(ctx, run) : new Set<string>();
  if (done.size > 0) await endViewConditions(ctx, run, done, subject, at);
  const allViews = subject === 'job:materialize' && views !== undefined;
  const since = allViews ? await materializedSince(ctx, run) : new Set<string>();
  // The views the firing condition waits for are read in the transaction that adds this run's: none is lost to a failure reported meanwhile.
  await ctx.metadata.health.update(kind, subject, (firing) => {
    const left = allViews ? [...new Set([...views, ...(waitingFor(firing?.firing === true ? firing : undefined) ?? [])])].filter((v) => !done.has(v) && !since.has(v)).sort() : undefined;
    return {
      firing: true, severity: 'error',
      message: `job ${name} ${hung ? 'hung' : 'failed'} (run ${run.id}): ${message}${left ? leftSuffix(left) : ''}`,
      details: { runId: run.id, error: message, ...(cause ? { cause } : {}), ...quarantined(outcome.error), ...(typeof run.params.runKey === 'string' ? { runKey: run.params.runKey } : {}), ...(left ? { viewsLeft: left } : {}) },
    };
  }, at);
}

/** The quarantined batch a run failed on (`details.quarantineId`), so its release or drop ends the run's condition (`endHeldConditions`). */
function quarantined(error: unknown): { quarantineId?: number } {
  const id = isSluiceError(error) ? error.details?.quarantineId : undefined;
  return typeof id === 'number' ? { quarantineId: id } : {};
}

/**
 * Whether a failed run's condition was ended after it failed, by a later run that covered its work
 * (`endMaterializeConditions`: per-view runs after a failed full materialize, or a full one after a
 * failed per-view one), so the failure is history even though it is still its job's last run. The
 * ending names the failed run it ended (`details.failedRunId`), so no time of the run's clock is
 * compared with one of the health store's; a condition ended by an older build (no such field)
 * is compared by time as it was then.
 *
 * @example
 * failureEndedSince(run, await ctx.metadata.health.list({ firing: false }));
 */
export function failureEndedSince(run: Pick<RunRecord, 'id' | 'job' | 'params' | 'startedAt' | 'finishedAt'>, resolved: readonly Condition[]): boolean {
  const subject = `job:${jobSubjectName(run.job, run.params)}`;
  const failedAt = run.finishedAt ?? run.startedAt;
  return resolved.some((c) => c.subject === subject && (RUN_KINDS as readonly string[]).includes(c.kind) && c.resolvedAt !== null
    && (c.details?.failedRunId !== undefined ? c.details.failedRunId === run.id : c.resolvedAt >= failedAt));
}
