import { DEFAULT_RETRY_BACKOFF, LOCAL_OPERATOR_ROLE, projectJobs, type Project, type Schedule } from '../definitions/index.js';

/** When the built-in schedule enforces declared retention: every hour, on the hour (UTC). */
export const RETENTION_CRON = '0 * * * *';

/**
 * The schedules a scheduler runs: the project's own, and the built-in ones that enforce what the
 * definitions declare without a cron of the user's. Today one: when a source or view declares
 * `retention`, the job `retention:<project>` runs every hour (a run that finds nothing expired
 * removes nothing), unless a declared schedule of that job replaces it (its time, its `as`).
 * It runs as `job:retention` with the local operator's role: the operator who started the
 * process (`sluice serve`, `sluice worker`) enforcing the project's own declaration, as
 * `sluice retention run` would; a `deny` for that role refuses it, as a failed run (job_failed).
 *
 * @example
 * projectSchedules(project).map((s) => s.name); // ['retention:fraud (built in, hourly)']
 */
export function projectSchedules(project: Project): readonly Schedule[] {
  const declared = project.schedules ?? [];
  const retention = projectJobs(project).find((j) => j.kind === 'retention');
  if (retention === undefined || declared.some((s) => s.job === retention.name)) return declared;
  return [...declared, {
    name: `${retention.name} (built in, hourly)`, job: retention.name, cron: RETENTION_CRON, timezone: 'UTC',
    retries: 0, timeoutMs: 3_600_000, ...DEFAULT_RETRY_BACKOFF, as: { name: 'retention', roles: [LOCAL_OPERATOR_ROLE] },
  }];
}
