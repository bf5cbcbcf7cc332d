import { isStreamed, type Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { failureEndedSince, isWorkRun, jobSubjectName } from '../../orchestration/job-health.js';
import { jobStillDeclared } from '../../orchestration/declared-jobs.js';
import { listRuns, reapDeadRuns } from '../../orchestration/track-run.js';
import type { Condition } from '../../storage/metadata/health-store.js';
import type { RunRecord } from '../../storage/metadata/metadata-store.js';
import { streamStatus, type StreamSourceStatus } from '../../streaming/stream-status.js';
import { toIso } from '../../time/index.js';
import type { FreshnessStatus } from '../freshness-status.js';
import { reportErasureStatus } from '../../compliance/erasure/erasure-status.js';
import { reportUnfinishedPurges } from '../../compliance/purge/unfinished-purge-status.js';
import { endFinishedScrubs } from '../../compliance/purge/scrub-removed.js';
import { clearRemovedConditions } from './clear-removed-conditions.js';
import { endReplayRefusals } from './end-replay-refusals.js';
import { reportFreshness } from './report-freshness.js';
import { reportLostConnectors } from './connector-beats.js';

/** A firing condition as `sluice status` shows it (times in ISO-8601 UTC). */
export interface ConditionStatus {
  readonly kind: string;
  readonly subject: string;
  readonly severity: 'warn' | 'error';
  readonly message: string;
  readonly since: string;
  readonly updatedAt: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** One run in run history. */
export interface RunStatusRow {
  readonly id: string;
  /** The job and what it ran on: `ingest:txns`, `transform:daily`, `materialize`. */
  readonly job: string;
  readonly status: RunRecord['status'];
  readonly startedAt: string;
  readonly durationMs: number | null;
  readonly error: string | null;
}

/** Everything `sluice status --json` prints (see docs/alerts-and-status.md). */
export interface HealthStatus {
  /** False when any condition of severity `error` fires, any freshness SLA is violated, or the last run of a job failed. */
  readonly healthy: boolean;
  /** Why it is unhealthy, one line each (empty when healthy). */
  readonly problems: readonly string[];
  readonly checkedAt: string;
  readonly freshness: readonly FreshnessStatus[];
  /** Every firing condition, any kind (failed jobs and checks, stale, drift, skew, schema changes, ...), errors first. */
  readonly conditions: readonly ConditionStatus[];
  /** The firing `check_failed` conditions (also in `conditions`). */
  readonly failingChecks: readonly ConditionStatus[];
  /** The newest runs, newest first; runs of a job's work (a file's ingest, a build inside `dataset:<name>`) are in `sluice runs`, not here. */
  readonly runs: readonly RunStatusRow[];
  /** The newest run of each job (by `job`), failed ones first. */
  readonly lastRuns: readonly RunStatusRow[];
  /** Dead letters stored per source (0 included). */
  readonly deadLetters: Readonly<Record<string, number>>;
  readonly streams: readonly StreamSourceStatus[];
}

/**
 * What identifies a job in run history, named as its health subject `job:<name>` is: a catalogue
 * job's own name (`ingest:txns`), or for a CLI run what it acts on (`ingest` of source `txns` is
 * `ingest:txns`, `materialize` of one view `materialize:<view>`).
 */
const jobOf = (run: RunRecord): string => jobSubjectName(run.job, run.params);

const runRow = (run: RunRecord): RunStatusRow => ({
  id: run.id, job: jobOf(run), status: run.status, startedAt: toIso(run.startedAt),
  durationMs: run.finishedAt === null ? null : run.finishedAt - run.startedAt, error: run.error,
});

const conditionRow = (c: Condition): ConditionStatus => ({
  kind: c.kind, subject: c.subject, severity: c.severity, message: c.message, since: toIso(c.since), updatedAt: toIso(c.updatedAt), details: c.details ?? {},
});

/**
 * The one-screen health of a project, from the metadata (and the online store's and log's
 * bookkeeping): freshness of every source and view (reported as `stale` conditions on the way,
 * see `reportFreshness`; conditions of removed checks, features and sources cleared, see
 * `clearRemovedConditions`), every firing condition, failing checks, recent runs and the last run
 * of each job, dead letters, and stream lag.
 *
 * @example
 * const status = await healthStatus(platform, await platform.project());
 * if (!status.healthy) process.exitCode = EXIT_UNHEALTHY;
 */
export async function healthStatus(ctx: SluiceContext, project: Project, options: { runs?: number } = {}): Promise<HealthStatus> {
  // Runs whose process died are failed, and their conditions fired, before the conditions are read (and those of removed jobs cleared):
  // else the call that notices a death answers without it, and only the next one with it.
  await reapDeadRuns(ctx, project);
  // Likewise connectors whose process died without a clean stop: `connector_lost`.
  await reportLostConnectors(ctx);
  const freshness = await reportFreshness(ctx, project);
  await clearRemovedConditions(ctx, project);
  // A view's replay refusal ends once its table was rebuilt or the entry trimmed.
  await endReplayRefusals(ctx, project);
  // Erasure requests past their one-month deadline fire `erasure_overdue` (GDPR Art. 12(3)).
  await reportErasureStatus(ctx);
  // A purge stopped or killed before its later steps fires `purge_unfinished` until a purge finishes it.
  await reportUnfinishedPurges(ctx);
  // A store whose removed bytes a process closing it has cleared since ends its `scrub_pending` warning.
  await endFinishedScrubs(ctx);
  const [firing, resolved, runs, deadLetters] = await Promise.all([ctx.metadata.health.list({ firing: true }), ctx.metadata.health.list({ firing: false }), listRuns(ctx, 500), ctx.metadata.deadLetterCounts()]);
  // A job is judged by its own runs: a work run (a file's ingest of the job) would stand for its job (`jobOf`) and list each run twice.
  const history = runs.filter((r) => !isWorkRun(r));
  const streams = project.sources.some(isStreamed) ? await streamStatus(project, await ctx.log(), await ctx.online(), ctx.now(), await ctx.metadata.listLeases()) : [];
  const conditions = firing.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1)).map(conditionRow);
  const last = new Map<string, RunRecord>();
  for (const run of history) if (!last.has(jobOf(run)) && run.status !== 'running') last.set(jobOf(run), run);
  const declared = jobStillDeclared(project);
  // A failed last run whose condition later runs covering its work ended (see `failureEndedSince`) is history too.
  const stillFailing = new Set([...last.values()].filter((r) => declared.run(r) && !failureEndedSince(r, resolved)).map((r) => r.id));
  const lastRuns = [...last.values()].map(runRow).sort((a, b) => Number(b.status === 'failed') - Number(a.status === 'failed'));
  const problems = [
    ...conditions.filter((c) => c.severity === 'error').map((c) => `${c.kind} ${c.subject}: ${c.message}`),
    ...freshness.filter((f) => f.stale && !conditions.some((c) => c.kind === 'stale' && c.subject === `${f.kind}:${f.name}`)).map((f) => `stale ${f.kind}:${f.name}: ${f.reason}`),
    // A failed job that already fires `job_failed` (or `job_hung`) is listed once, as that condition.
    // A failed run of a job no longer declared is history, not a problem (its condition was cleared above).
    ...lastRuns.filter((r) => r.status === 'failed' && stillFailing.has(r.id) && !conditions.some((c) => c.subject === `job:${r.job}` && c.severity === 'error'))
      .map((r) => `last run of ${r.job} failed (${r.startedAt}): ${r.error ?? 'no error recorded'}`),
  ];
  return {
    healthy: problems.length === 0, problems, checkedAt: toIso(ctx.now()), freshness, conditions,
    failingChecks: conditions.filter((c) => c.kind === 'check_failed'), runs: history.slice(0, options.runs ?? 10).map(runRow), lastRuns,
    deadLetters: Object.fromEntries(project.sources.map((s) => [s.name, deadLetters[s.name] ?? 0])), streams,
  };
}
