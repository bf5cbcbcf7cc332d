import type { Project } from '../../definitions/index.js';
import { PolicyError } from '../../errors.js';
import type { AuditTrail } from '../../storage/metadata/audit-store.js';
import { residencyFlows, type ResidencyFlow } from './residency-flows.js';

export interface ResidencyOptions {
  /** Who asks and from where, for the audit trail (`cli:alice`, `local`). */
  readonly actor: string;
  readonly origin: string;
  /** What is being done: `plan`, `apply` or `dataset.build`. */
  readonly during: 'plan' | 'apply' | 'dataset.build';
  /** Record each transfer a policy lets through (apply, a dataset build); plan only checks. */
  readonly recordTransfers: boolean;
  /** A dataset built outside the declarations: its name, output region and features. */
  readonly dataset?: { readonly name: string; readonly region: string; readonly service?: string; readonly features?: readonly string[] };
}

/** The fix for one violation: keep the place in the source's region, or allow the transfer. */
function fix(flow: ResidencyFlow): string {
  const keep = flow.place === 'online store' ? `onlineStore: { region: "${flow.from}" }` : `region: "${flow.from}" on ${flow.place}`;
  return `keep it in ${flow.from} (${keep}), or allow it: transfers: [allowTransfer({ from: "${flow.from}", to: "${flow.to}", purpose: "...", sources: ["${flow.source}"] })]`;
}

/**
 * The one residency gate of `plan`, `apply` and dataset builds: refuses (a PolicyError, code
 * POLICY_DENIED, recorded in the audit trail as `residency.refused`) a project whose data would
 * move from one region into a store or dataset in another without a transfer policy that allows
 * it, naming each whole path and the fix. With `recordTransfers`, each transfer a policy lets
 * through is recorded (`residency.transfer`, with the policy's purpose). Returns the allowed
 * cross-region flows.
 *
 * @example
 * await enforceResidency(platform.metadata.audit, platform.now(), project, { actor: 'cli:alice', origin: 'local', during: 'apply', recordTransfers: true });
 */
export async function enforceResidency(audit: AuditTrail, now: number, project: Project, options: ResidencyOptions): Promise<ResidencyFlow[]> {
  const flows = residencyFlows(project, options.dataset === undefined ? [] : [options.dataset]);
  const relevant = options.dataset === undefined ? flows : flows.filter((f) => f.place === `dataset ${options.dataset!.name}`);
  const refused = relevant.filter((f) => f.transfer === undefined);
  const target = options.dataset === undefined ? `project:${project.name}` : `dataset:${options.dataset.name}`;
  if (refused.length > 0) {
    await audit.append({ actor: options.actor, action: 'residency.refused', target, outcome: 'denied', origin: options.origin, details: { during: options.during, paths: refused.map((f) => f.path) } }, now);
    const lines = refused.map((f) => `  ${f.path}: moves data of source ${f.source} from ${f.from} to ${f.to} with no transfer policy; ${fix(f)}`);
    throw new PolicyError('POLICY_DENIED', `residency: ${options.during} refused, data would leave its region:\n${lines.join('\n')}`, {
      details: { violations: refused.map(({ source, from, place, to, path }) => ({ source, from, place, to, path })) },
    });
  }
  const allowed = relevant.filter((f) => f.transfer !== undefined);
  if (options.recordTransfers) await auditTransfers(audit, now, allowed, options);
  return allowed;
}

/**
 * Records each transfer a policy lets through (`residency.transfer`, with the policy's purpose
 * and the whole path): `apply` calls it once the registry version that uses them is recorded.
 *
 * @example
 * await auditTransfers(platform.metadata.audit, platform.now(), flows, { actor: 'cli:alice', origin: 'local', during: 'apply' });
 */
export async function auditTransfers(audit: AuditTrail, now: number, flows: readonly ResidencyFlow[], who: Pick<ResidencyOptions, 'actor' | 'origin' | 'during'>): Promise<void> {
  for (const f of flows) {
    if (f.transfer === undefined) continue;
    await audit.append({
      actor: who.actor, action: 'residency.transfer', target: `source:${f.source}`, outcome: 'allowed', origin: who.origin, purpose: f.transfer.purpose,
      details: { during: who.during, from: f.from, to: f.to, place: f.place, path: f.path, transfer: f.transfer.name, ...(f.transfer.safeguard === undefined ? {} : { safeguard: f.transfer.safeguard }) },
    }, now);
  }
}
