import type { JobDefinition, Project, Schedule } from '../../definitions/index.js';
import { PolicyError } from '../../errors.js';
import type { AuditTrail } from '../../storage/metadata/audit-store.js';
import type { Principal } from '../principal.js';
import { accessPolicy, authorize, refusalWithoutHint, type AccessDecision } from './authorize.js';
import { jobRights } from './job-rights.js';

/** The name of the principal a schedule without `as` runs as (only a project without access rules may have one; see `checkSchedulePrincipals`). */
export const SCHEDULER_PRINCIPAL = 'scheduler';

/**
 * Who a scheduled or triggered run acts as: the schedule's declared identity, `job:<name>` with
 * its roles, or `scheduler` with no role when it declares none. While the project has no access
 * rule, access is open (as for the CLI's local operator and the embedded server), but masking
 * still applies the identity's roles.
 *
 * @example
 * schedulePrincipal(project, { as: { name: 'training-pipeline', roles: ['trainer'] } });
 * // { name: 'job:training-pipeline', roles: ['trainer'], origin: 'local' }
 */
export function schedulePrincipal(project: Project, schedule: Pick<Schedule, 'as'> | undefined): Principal {
  const who = schedule?.as ? { name: `job:${schedule.as.name}`, roles: schedule.as.roles } : { name: SCHEDULER_PRINCIPAL, roles: [] };
  return { ...who, origin: 'local', ...((project.access ?? []).length === 0 ? { open: true } : {}) };
}

// The scheduler with no identity only runs under access rules in a project applied before schedules had to name one.
const unnamedSchedule = (principal: Principal): boolean => principal.name === SCHEDULER_PRINCIPAL && principal.roles.length === 0;

/** A role-less scheduler's refusal: the generic "add allow({ role })" hint cannot help it, an identity on the schedule can. */
function unnamedReason(job: JobDefinition, reason: string): string {
  return `${refusalWithoutHint(reason)}: its schedule declares no "as" (the project was applied before schedules under access rules had to name who they run as); `
    + `add as: { name: "pipeline", roles: ["pipeline"] } to the schedule and allow({ role: "pipeline", run: ["${job.name}"] }) to access in sluice.config.ts, then run sluice apply`;
}

/**
 * Authorizes one run of a job for `principal` with the one decision (`authorize`: deny wins,
 * default deny): the `run` right on the job, plus `datasets` for a dataset job (whose build then
 * checks each feature it reads, request views' inputs included, and masks for the principal's
 * roles) and `admin: retention` for the retention job. The decision is audited as `job.authorize`
 * (`allowed` or `denied`, target `job:<name>`, the trigger and run key) unless access is open; a
 * refusal throws a `PolicyError` (POLICY_DENIED), which fails the run.
 *
 * @example
 * await authorizeJob(jc, project, findJob(project, 'dataset:train'), principal, { trigger: 'schedule' });
 */
export async function authorizeJob(ctx: { readonly metadata: { readonly audit: AuditTrail }; readonly now: () => number }, project: Project, job: JobDefinition, principal: Principal, context: { readonly trigger: string; readonly runKey?: string }): Promise<void> {
  if (principal.open) return;
  const policy = accessPolicy(project);
  let decision: AccessDecision = { allowed: true, reason: '' };
  for (const [action, resource] of jobRights(job)) {
    decision = authorize(policy, principal, action, resource);
    if (!decision.allowed) break;
  }
  await ctx.metadata.audit.append({
    actor: principal.name, action: 'job.authorize', target: `job:${job.name}`, outcome: decision.allowed ? 'allowed' : 'denied', origin: principal.origin,
    details: { trigger: context.trigger, ...(context.runKey === undefined ? {} : { runKey: context.runKey }), ...(decision.allowed ? {} : { reason: decision.reason }) },
  }, ctx.now());
  if (!decision.allowed) throw new PolicyError('POLICY_DENIED', `job "${job.name}": ${unnamedSchedule(principal) ? unnamedReason(job, decision.reason) : decision.reason}`);
}
