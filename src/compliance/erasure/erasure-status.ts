import type { SluiceContext } from '../../context.js';
import type { ErasureRequest } from '../../storage/metadata/erasure-store.js';

/** The health condition of an erasure request past its deadline (`erasure:<id>`). */
export const ERASURE_OVERDUE = 'erasure_overdue';

export interface ErasureRequestStatus extends ErasureRequest {
  /** Not completed and past its deadline, or completed after it. */
  readonly overdue: boolean;
  /** Milliseconds until the deadline (negative: past it); null once completed. */
  readonly dueInMs: number | null;
}

export interface ErasureStatusReport {
  readonly requests: readonly ErasureRequestStatus[];
  readonly pending: number;
  readonly completed: number;
  /** Requests still open past their deadline: each has a firing `erasure_overdue` condition. */
  readonly overdue: number;
}

/**
 * Every erasure request against its deadline (GDPR Art. 12(3)), newest first, and the health
 * condition `erasure_overdue` (`erasure:<id>`, severity error) of each open request past its
 * deadline: firing while it is, cleared once the request completes, so `sluice status`, `/metrics`
 * and alerts show it.
 *
 * @example
 * const { overdue } = await reportErasureStatus(platform);
 */
export async function reportErasureStatus(ctx: SluiceContext): Promise<ErasureStatusReport> {
  const now = ctx.now();
  const requests = (await ctx.metadata.erasure.list()).map((r): ErasureRequestStatus => ({
    ...r,
    overdue: r.status === 'completed' ? r.completedAt! > r.deadlineAt : now > r.deadlineAt,
    dueInMs: r.status === 'completed' ? null : r.deadlineAt - now,
  }));
  const open = requests.filter((r) => r.status !== 'completed' && r.overdue);
  const firing = new Set((await ctx.metadata.health.list({ firing: true, kind: ERASURE_OVERDUE })).map((c) => c.subject));
  for (const r of open) {
    await ctx.metadata.health.report({
      kind: ERASURE_OVERDUE, subject: `erasure:${r.id}`, firing: true, severity: 'error',
      message: `erasure request ${r.id} (entity "${r.entity}") is ${r.status} past its deadline ${new Date(r.deadlineAt).toISOString()} (GDPR Art. 12(3)); run "sluice erase --entity ${r.entity} --key <key>" again to complete it`,
      details: { request: r.id, deadline: r.deadlineAt, status: r.status },
    }, now);
    firing.delete(`erasure:${r.id}`);
  }
  for (const subject of firing) {
    await ctx.metadata.health.report({ kind: ERASURE_OVERDUE, subject, firing: false, severity: 'error', message: `erasure request ${subject.slice('erasure:'.length)} is completed` }, now);
  }
  return { requests, pending: requests.filter((r) => r.status !== 'completed').length, completed: requests.filter((r) => r.status === 'completed').length, overdue: open.length };
}
