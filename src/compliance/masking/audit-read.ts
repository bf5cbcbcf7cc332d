import type { MaskMethod } from '../../definitions/index.js';
import type { AuditTrail } from '../../storage/metadata/audit-store.js';
import type { Principal } from '../principal.js';

/** A read of classified or masked data, as evidence: what, through which path, how each column was shown; never a value or a key. */
export interface MaskedRead {
  /** `serve.read`, `dataset.build`, `dlq.read`. */
  readonly action: string;
  /** `service:fraud_v1`, `features`, `dataset:<out file>`, `source:payments`. */
  readonly target: string;
  /** `http`, `cli`, `job`. */
  readonly path: string;
  readonly purpose: string;
  /** Output column to method, for every classified or masked column returned (`clear` included). */
  readonly columns: Readonly<Record<string, MaskMethod>>;
  readonly rows: number;
}

/**
 * Appends one `allowed` record per read of classified or masked data to the audit trail: who
 * (`actor`, `origin`), what (`target`), with which mask per column, how many rows. Awaited by the
 * caller before the data is returned, so no classified read goes unrecorded.
 *
 * @example
 * await auditMaskedRead(ctx.metadata.audit, principal, ctx.now(), { action: 'serve.read', target: 'service:crm', path: 'http', purpose: 'serving', columns, rows: 2 });
 */
export async function auditMaskedRead(audit: AuditTrail, principal: Principal, at: number, read: MaskedRead): Promise<void> {
  await audit.append({
    actor: principal.name, action: read.action, target: read.target, outcome: 'allowed', origin: principal.origin, purpose: read.purpose,
    details: { path: read.path, roles: [...principal.roles], columns: read.columns, rows: read.rows },
  }, at);
}
