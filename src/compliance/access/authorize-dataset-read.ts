import type { Project } from '../../definitions/index.js';
import { PolicyError } from '../../errors.js';
import type { AuditTrail } from '../../storage/metadata/audit-store.js';
import type { Principal } from '../principal.js';
import { readDependencies } from './read-dependencies.js';
import { accessPolicy, authorizeRead, readSelection } from './authorize.js';

/**
 * A dataset build reads its features: each must be readable by `principal` under the project's
 * rules, as online (a `deny` wins over the `datasets` right, the default is deny). A refusal is
 * audited as a denied `dataset.build` naming the views, and throws a `PolicyError`.
 *
 * @example
 * await authorizeDatasetRead(ctx, project, principal, { features: ['profile:segment'] });
 */
export async function authorizeDatasetRead(ctx: { readonly metadata: { readonly audit: AuditTrail }; readonly now: () => number }, project: Project, principal: Principal, selection: { readonly service?: string; readonly features?: readonly string[] }): Promise<void> {
  const read = readSelection(project, selection);
  if (!read) return;
  const decision = authorizeRead(accessPolicy(project), principal, read.features, readDependencies(project));
  if (decision.allowed) return;
  await ctx.metadata.audit.append({ actor: principal.name, action: 'dataset.build', target: read.target, outcome: 'denied', origin: principal.origin, details: { reason: decision.reason } }, ctx.now());
  throw new PolicyError('POLICY_DENIED', decision.reason);
}
