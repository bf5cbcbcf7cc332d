import { isSluiceError } from '../../errors.js';
import type { SluiceContext } from '../../context.js';
import type { Principal } from '../principal.js';

/** What an administrative action is, for its audit record: `apply` on `project:fraud`. */
export interface AuditedActionSpec {
  readonly action: string;
  readonly target: string;
  readonly purpose?: string;
  /** For an action that reports a failure without throwing (it sets the exit code): whether its evidence says it failed. */
  readonly failed?: (evidence: ActionEvidence) => boolean;
}

/** What an audit record says of an error: its Sluice code, else its class name; never its message, which may quote input data. */
export function auditErrorCode(error: unknown): string {
  return isSluiceError(error) ? error.code : error instanceof Error ? error.name : 'Error';
}

/** Evidence an action returns for its record: counts, ids, names. Never an entity key or a feature value. */
export type ActionEvidence = Readonly<Record<string, unknown>>;

/**
 * Runs an administrative action and appends exactly one audit record for it: `succeeded` with the
 * evidence `body` returns (`failed` when `spec.failed` says so), or `failed` with the error's code (not its message, which may quote
 * input data) before the error goes on. A failure to write the record of a failed action does not
 * hide the action's own error.
 *
 * @example
 * await auditedAction(ctx, principal, { action: 'gc', target: 'lake' }, async () => ({ files: 3 }));
 */
export async function auditedAction(
  ctx: Pick<SluiceContext, 'metadata' | 'now'>, principal: Pick<Principal, 'name' | 'origin'>, spec: AuditedActionSpec,
  body: () => Promise<ActionEvidence | void>,
): Promise<void> {
  const event = { actor: principal.name, origin: principal.origin, action: spec.action, target: spec.target, ...(spec.purpose === undefined ? {} : { purpose: spec.purpose }) };
  let evidence: ActionEvidence | void;
  try {
    evidence = await body();
  } catch (error) {
    await ctx.metadata.audit.append({ ...event, outcome: 'failed', details: { error: auditErrorCode(error) } }, ctx.now()).catch(() => undefined);
    throw error;
  }
  const outcome = evidence && spec.failed?.(evidence) === true ? 'failed' : 'succeeded';
  await ctx.metadata.audit.append({ ...event, outcome, ...(evidence ? { details: evidence } : {}) }, ctx.now());
}
