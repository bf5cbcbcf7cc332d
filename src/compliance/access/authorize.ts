import { LOCAL_OPERATOR_ROLE, unknownFeatureError, type AccessRule, type Project } from '../../definitions/index.js';
import { PolicyError, type SluiceError } from '../../errors.js';
import type { Principal } from '../principal.js';
import type { ReadDependencies } from './read-dependencies.js';

/** What a principal asks to do: read a feature (`view:feature`), push to a source, build datasets, run an admin action, or run a job (`dataset:train`). */
export type AccessAction = 'read' | 'push' | 'datasets' | 'admin' | 'run';

/**
 * The right of an operation that both doors offer, so HTTP and the CLI ask one principal the same:
 * reading status (`GET /v1/registry`, `/v1/streams`, `/metrics`, `sluice status`).
 */
export const STATUS_RIGHT = Object.freeze({ action: 'admin', resource: 'status' } as const);

/** How a decision is recorded in the audit trail, by action: `admin.<resource>` for an admin action. */
const AUDIT_ACTION: Record<AccessAction, string> = { read: 'serve.read', push: 'push.write', datasets: 'dataset.build', admin: 'admin', run: 'job.authorize' };

/** The audit action of a decision on `action` over `resource` (`admin.status`, `job.authorize`, ...), for every door. */
export const auditActionOf = (action: AccessAction, resource: string): string => (action === 'admin' ? `admin.${resource}` : AUDIT_ACTION[action]);

export interface AccessDecision {
  readonly allowed: boolean;
  /** Why, naming the rule that decided (or that none allows, with the rule to add). */
  readonly reason: string;
}

/** The rule behind the local operator's rights (the CLI without `SLUICE_API_KEY`): everything, unless a deny says otherwise. */
const LOCAL_OPERATOR_RULE: AccessRule = Object.freeze({ effect: 'allow', role: LOCAL_OPERATOR_ROLE, read: ['*'], push: ['*'], datasets: true, admin: ['*'], run: ['*'] });

/** The policy before any project is applied: only the local operator may act. */
const BASE_POLICY: readonly AccessRule[] = Object.freeze([LOCAL_OPERATOR_RULE]);

const policies = new WeakMap<Project, readonly AccessRule[]>();

/**
 * The effective policy of a project: its `access` rules, then the built-in rule that lets the
 * local operator do anything (a `deny` for role `local-operator` still wins); with no project
 * applied yet, that rule alone. Cached per project.
 *
 * @example
 * authorize(accessPolicy(project), principal, 'read', 'txn_stats:amount_sum_24h');
 */
export function accessPolicy(project: Project | undefined): readonly AccessRule[] {
  if (!project) return BASE_POLICY;
  let policy = policies.get(project);
  if (!policy) {
    policy = [...(project.access ?? []), LOCAL_OPERATOR_RULE];
    policies.set(project, policy);
  }
  return policy;
}

const covers = (rule: AccessRule, action: AccessAction, resource: string): boolean => {
  if (action === 'datasets') return rule.datasets === true;
  const granted = rule[action];
  return granted !== undefined && (granted.includes('*') || granted.includes(resource));
};

const VERB: Record<AccessAction, string> = { read: 'read feature', push: 'push to source', datasets: 'build datasets', admin: 'run admin action', run: 'run job' };
const HINT: Record<AccessAction, (resource: string) => string> = {
  read: (r) => `read: ["${r}"]`, push: (r) => `push: ["${r}"]`, datasets: () => 'datasets: true', admin: (r) => `admin: ["${r}"]`, run: (r) => `run: ["${r}"]`,
};
const label = (rule: AccessRule, i: number) => (rule === LOCAL_OPERATOR_RULE ? 'the built-in local-operator rule' : `access[${i}]`);

/**
 * The one decision on access: may `principal` do `action` on `resource`? A principal holds the
 * rights of each of its roles. Deny wins: any matching `deny` rule refuses, whatever allows it;
 * otherwise a matching `allow` permits; otherwise the default is deny. Rule order never matters.
 * An open principal (auth off: no keys and no rules) is allowed everything.
 *
 * @example
 * authorize(policy, { name: 'key:scorer', roles: ['fraud-model'], origin: 'ip:10.0.0.7' }, 'read', 'txn_stats:amount_sum_24h');
 */
export function authorize(policy: readonly AccessRule[], principal: Principal, action: AccessAction, resource: string): AccessDecision {
  const what = action === 'datasets' ? VERB[action] : `${VERB[action]} "${resource}"`;
  if (principal.open) return { allowed: true, reason: 'access is open: no keys or access rules' };
  let allowedBy: number | undefined;
  for (let i = 0; i < policy.length; i++) {
    const rule = policy[i]!;
    if (!principal.roles.includes(rule.role) || !covers(rule, action, resource)) continue;
    if (rule.effect === 'deny') return { allowed: false, reason: `${principal.name} may not ${what}: ${label(rule, i)} denies it to role "${rule.role}" (a deny wins over any allow)` };
    allowedBy ??= i;
  }
  if (allowedBy !== undefined) return { allowed: true, reason: `${label(policy[allowedBy]!, allowedBy)} allows it to role "${policy[allowedBy]!.role}"` };
  const roles = principal.roles.length === 0 ? 'it has no role' : `no access rule allows it to role${principal.roles.length > 1 ? 's' : ''} ${principal.roles.map((r) => `"${r}"`).join(', ')}`;
  const role = principal.roles[0] ?? 'ROLE';
  return { allowed: false, reason: `${principal.name} may not ${what}: ${roles}${GRANT_HINT}add allow({ role: "${role}", ${HINT[action](resource)} }) to access in sluice.config.ts` };
}

/** Where a default-deny reason's hint (the rule to add) starts. */
const GRANT_HINT = '; to grant it, ';

/**
 * A refusal's reason without its hint (what was refused and why), for a caller that knows a
 * better fix than the rule to add.
 *
 * @example
 * refusalWithoutHint(authorize(policy, principal, 'run', 'materialize:stats').reason);
 */
export function refusalWithoutHint(reason: string): string {
  const at = reason.indexOf(GRANT_HINT);
  return at < 0 ? reason : reason.slice(0, at);
}

/** What a feature request reads: the audit target and its `view:feature` names; undefined for an unknown service (answered 404, nothing read). */
export function readSelection(project: Project | undefined, selection: { readonly service?: string | undefined; readonly features?: readonly string[] | undefined }): { readonly target: string; readonly features: readonly string[] } | undefined {
  if (selection.service !== undefined) {
    const service = project?.featureServices.find((s) => s.name === selection.service);
    return service && { target: `service:${service.name}`, features: service.features.map((f) => `${f.view}:${f.feature}`) };
  }
  const features = (selection.features ?? []).map(String);
  return { target: `views:${[...new Set(features.map((f) => f.split(':')[0]))].join(',')}`.slice(0, 200), features };
}

/**
 * Why a read is refused, for every door: a service, view or feature the project lacks answers what
 * it answers without access control (404 `UNKNOWN_SERVICE` / `UNKNOWN_FEATURE`, `unknownFeatureError`),
 * not a 403 advising a right on a name that is not there, and its did-you-mean names only what the
 * principal may read; anything else is the 403 `POLICY_DENIED` of `decision`. Asked only once a
 * read is refused (or names no known service), so an allowed read pays nothing.
 *
 * @example
 * const refusal = readRefusal(project, policy, principal, { features: ['stat:n'] }, decision);
 * if (refusal) throw refusal.error;
 */
export function readRefusal(project: Project | undefined, policy: readonly AccessRule[], principal: Principal, selection: { readonly service?: string | undefined; readonly features?: readonly string[] | undefined }, decision?: AccessDecision): { readonly reason: string; readonly error: SluiceError } | undefined {
  const unknown = project && unknownFeatureError(project, selection, (f) => authorize(policy, principal, 'read', f).allowed);
  if (unknown) return { reason: unknown.message, error: unknown };
  return decision && !decision.allowed ? { reason: decision.reason, error: new PolicyError('POLICY_DENIED', decision.reason) } : undefined;
}

/**
 * Reading several features: allowed when each one is, and, for a request-view feature, each
 * feature it is computed from (`readDependencies`: a deny on an input, or no rule allowing it,
 * refuses the derived feature too); otherwise the decision on the first refused one, naming the
 * input when it is one.
 *
 * @example
 * authorizeRead(policy, principal, ['txn_stats:amount_sum_24h', 'risk:ratio'], readDependencies(project));
 */
export function authorizeRead(policy: readonly AccessRule[], principal: Principal, features: readonly string[], dependencies?: ReadDependencies): AccessDecision {
  for (const feature of features) {
    const decision = authorize(policy, principal, 'read', feature);
    if (!decision.allowed) return decision;
    for (const input of dependencies?.get(feature) ?? []) {
      const inputDecision = authorize(policy, principal, 'read', input);
      if (!inputDecision.allowed) return { allowed: false, reason: `request view feature "${feature}" is computed from "${input}", so reading it needs read rights on "${input}" too: ${inputDecision.reason}` };
    }
  }
  return { allowed: true, reason: 'every requested feature, and every feature a requested request view reads, is readable' };
}
