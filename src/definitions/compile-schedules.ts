import { Cron } from 'croner';
import { parseDuration } from '../time/index.js';
import { principalNameProblem, roleNameProblem } from './compile-access.js';
import { LOCAL_OPERATOR_ROLE } from './access-types.js';
import { jobNameOf, projectJobs } from './jobs.js';
import { didYouMean } from './suggest.js';
import type { ScheduleIdentity } from './operation-types.js';
import type { Project, Schedule, ScheduleSpec } from './types.js';
import { fail } from './validate-names.js';

const DEFAULT_TIMEOUT = '1h';
const DEFAULT_BACKOFF_BASE = '10s';
const DEFAULT_BACKOFF_MAX = '10m';
/** A schedule's default retry backoff, in ms (other retried background work uses it too: the rebuild of lost views). */
export const DEFAULT_RETRY_BACKOFF = { backoffBaseMs: parseDuration(DEFAULT_BACKOFF_BASE)!, backoffMaxMs: parseDuration(DEFAULT_BACKOFF_MAX)! } as const;

/** The job a schedule names: a job name as written, or the one job that acts on a view, source or transform. */
function jobOf(spec: ScheduleSpec, jobs: readonly string[]): string {
  const job = spec.job as unknown;
  return jobNameOf(job) ?? fail(`schedule: job must be a job name (one of ${jobs.join(', ') || 'none: the project has no jobs'}) or a feature view, transform, batch source or dataset, not ${JSON.stringify(job)}`);
}

function duration(where: string, option: string, text: unknown, example: string): number {
  const ms = typeof text === 'string' ? parseDuration(text) : undefined;
  if (ms === undefined) fail(`${where}: ${option} ${JSON.stringify(text)} is not a duration; write e.g. "${example}"`);
  return ms;
}

function checkTimezone(where: string, timezone: unknown): string {
  if (typeof timezone !== 'string') fail(`${where}: timezone must be an IANA time zone name such as "Europe/Paris", not ${JSON.stringify(timezone)}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    fail(`${where}: timezone "${timezone}" is not an IANA time zone; write e.g. "Europe/Paris", "America/New_York" or "UTC"`);
  }
  return timezone;
}

function checkCron(where: string, cron: unknown, timezone: string): string {
  if (typeof cron !== 'string') fail(`${where}: cron must be a cron expression string such as "*/5 * * * *", not ${JSON.stringify(cron)}`);
  let next: Date | null;
  try {
    next = new Cron(cron, { timezone, paused: true }).nextRun(new Date(0));
  } catch (error) {
    fail(`${where}: cron "${cron}" is not valid (${(error as Error).message}); write 5 fields "minute hour day-of-month month day-of-week", e.g. "*/5 * * * *"`);
  }
  if (next === null) fail(`${where}: cron "${cron}" never fires: no date matches it (a day that no month in it has?)`);
  return cron;
}

/** A schedule's `as`: a service identity named like a key's principal, with valid roles (not the local operator's). */
function compileIdentity(where: string, as: unknown): ScheduleIdentity {
  const identity = as as { name?: unknown; roles?: unknown } | null;
  const example = 'as: { name: "training-pipeline", roles: ["trainer"] }';
  if (identity === null || typeof identity !== 'object') fail(`${where}: as must be a service identity, e.g. ${example}`);
  const problem = principalNameProblem(identity.name);
  if (problem) fail(`${where}: as.name: ${problem}; e.g. ${example}`);
  if (!Array.isArray(identity.roles) || identity.roles.length === 0) fail(`${where}: as.roles must list at least one role, e.g. ${example}`);
  for (const role of identity.roles) {
    const roleProblem = roleNameProblem(role);
    if (roleProblem) fail(`${where}: as.roles: ${roleProblem}`);
    if (role === LOCAL_OPERATOR_ROLE) fail(`${where}: as.roles: "${LOCAL_OPERATOR_ROLE}" is reserved for the operator at the command line; give the job a role of its own and allow it what it needs`);
  }
  return { name: identity.name as string, roles: [...new Set(identity.roles as string[])] };
}

function compileSchedule(spec: ScheduleSpec, project: Project, jobs: readonly string[]): Schedule {
  if (spec?.kind !== 'schedule') fail('schedules: each entry must be built with schedule({ job, cron }) or schedule({ job, onNewSnapshot })');
  const job = jobOf(spec, jobs);
  const where = `schedule of job "${job}"`;
  if (!jobs.includes(job)) {
    const hint = job.startsWith('ingest:') ? ' (an ingest job needs a batch source with a path: batchSource({ ..., path: "data/x/*.csv" }))' : '';
    fail(`${where}: there is no job "${job}" in the project${didYouMean(job, jobs)}${hint}; jobs: ${jobs.join(', ') || 'none'}`);
  }
  if ((spec.cron === undefined) === (spec.onNewSnapshot === undefined)) fail(`${where}: give exactly one of cron: "*/5 * * * *" or onNewSnapshot: source`);
  const timezone = checkTimezone(where, spec.timezone ?? 'UTC');
  const cron = spec.cron === undefined ? undefined : checkCron(where, spec.cron, timezone);
  const trigger = spec.onNewSnapshot as unknown;
  const source = trigger === undefined ? undefined : typeof trigger === 'string' ? trigger : (trigger as { name?: string }).name;
  if (trigger !== undefined && !project.sources.some((s) => s.name === source)) {
    fail(`${where}: onNewSnapshot names "${String(source)}", which is not a source or transform of the project${didYouMean(String(source), project.sources.map((s) => s.name))}`);
  }
  const retries = spec.retries ?? 0;
  if (!Number.isSafeInteger(retries) || retries < 0 || retries > 100) fail(`${where}: retries must be a whole number from 0 to 100, not ${JSON.stringify(spec.retries)}`);
  const backoffBaseMs = duration(where, 'backoff.base', spec.backoff?.base ?? DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_BASE);
  const backoffMaxMs = duration(where, 'backoff.max', spec.backoff?.max ?? DEFAULT_BACKOFF_MAX, DEFAULT_BACKOFF_MAX);
  if (backoffMaxMs < backoffBaseMs) fail(`${where}: backoff.max (${spec.backoff?.max}) is shorter than backoff.base (${spec.backoff?.base ?? DEFAULT_BACKOFF_BASE})`);
  const name = spec.name ?? (cron !== undefined ? `${job} ${cron}${timezone === 'UTC' ? '' : ` ${timezone}`}` : `${job} on new snapshot of ${source}`);
  if (typeof name !== 'string' || name.trim() === '') fail(`${where}: name must be a non-empty string`);
  return {
    name, job, ...(cron === undefined ? {} : { cron }), timezone, ...(source === undefined ? {} : { onNewSnapshot: source }),
    retries, timeoutMs: duration(where, 'timeout', spec.timeout ?? DEFAULT_TIMEOUT, '10m'), backoffBaseMs, backoffMaxMs,
    ...(spec.as === undefined ? {} : { as: compileIdentity(where, spec.as) }),
  };
}

/**
 * Validates a project's schedules and triggers against its job catalogue (`projectJobs`): an
 * unknown job, a bad cron expression or time zone, or an unknown trigger source is a
 * DefinitionError naming the fix. Names are unique.
 *
 * @example
 * compileSchedules([schedule({ job: 'materialize:fraud_v1', cron: '*\/5 * * * *' })], project);
 */
export function compileSchedules(specs: readonly ScheduleSpec[], project: Project): Schedule[] {
  const jobs = projectJobs(project).map((j) => j.name);
  const schedules = specs.map((s) => compileSchedule(s, project, jobs));
  const seen = new Set<string>();
  for (const s of schedules) {
    if (seen.has(s.name)) fail(`two schedules are named "${s.name}"; give one a distinct name: schedule({ ..., name: "..." })`);
    seen.add(s.name);
  }
  return schedules;
}

/**
 * Once a project has access rules, every schedule names who its job runs as (`as`): a scheduled
 * job reads and writes data, so it is authorized and masked like any caller, and an unnamed
 * caller would either hold no rights (every run refused) or all of them. A DefinitionError names
 * the schedule and the fix.
 *
 * @example
 * checkSchedulePrincipals(project); // after compileAccess
 */
export function checkSchedulePrincipals(project: Project): void {
  if ((project.access ?? []).length === 0) return;
  const unnamed = (project.schedules ?? []).find((s) => s.as === undefined);
  if (unnamed) {
    fail(`schedule "${unnamed.name}": the project has access rules, so a scheduled job runs as a declared identity; add as: { name: "pipeline", roles: ["pipeline"] } to the schedule, and allow({ role: "pipeline", run: ["${unnamed.job}"] }) (plus what the job reads: read, datasets) to access`);
  }
}

/**
 * Declares when a job runs: on a cron schedule read in a time zone, or when a source commits a
 * new snapshot; with retries (exponential backoff, full jitter) and a timeout. Schedules change
 * no value, so no hash.
 *
 * @example
 * schedule({ job: 'materialize:fraud_v1', cron: '*\/5 * * * *', timezone: 'Europe/Paris', retries: 3, timeout: '10m' });
 * schedule({ job: fraudV1, onNewSnapshot: payments });
 */
export function schedule(options: Omit<ScheduleSpec, 'kind'>): ScheduleSpec {
  return Object.freeze({ kind: 'schedule', ...options });
}
