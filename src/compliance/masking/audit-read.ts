import type { MaskMethod } from '../../definitions/index.js';
import type { AuditEvent } from '../../storage/metadata/audit-store.js';
import type { Principal } from '../principal.js';

/** A read of classified or masked data, as evidence: what, through which path, how each column was shown; never a value or a key. */
export interface MaskedRead {
  /** `service:fraud_v1`, `features`, `dataset:<dataset id>`, `source:payments` (dead letters). */
  readonly target: string;
  /** Which way the data left: `http`, `get`, `dataset`, `dlq`. */
  readonly path: string;
  readonly purpose: string;
  /** Output column to method, for every classified or masked column returned (`clear` included). */
  readonly columns: Readonly<Record<string, MaskMethod>>;
  readonly rows: number;
}

/** Where evidence goes: the audit trail's `append` (awaited), or a server's group-committed buffer (`AuditBuffer.record`). */
export type AuditSink = (event: AuditEvent, at: number) => unknown;

/** The action of every read of classified or masked data, whatever the path (`details.path` says which). */
export const CLASSIFIED_READ = 'classified.read';

/**
 * Records one `allowed` `classified.read` per read of classified or masked data: who (`actor`,
 * `origin`, roles), what (`target`), through which path, with which method per column, how many
 * rows. Awaited before the data is returned (with a buffer: queued for its next commit).
 *
 * @example
 * await auditMaskedRead((e, at) => ctx.metadata.audit.append(e, at), principal, ctx.now(), { target: 'service:crm', path: 'get', purpose: 'serving', columns, rows: 2 });
 */
export async function auditMaskedRead(sink: AuditSink, principal: Principal, at: number, read: MaskedRead): Promise<void> {
  await sink({
    actor: principal.name, action: CLASSIFIED_READ, target: read.target, outcome: 'allowed', origin: principal.origin, purpose: read.purpose,
    details: { path: read.path, roles: [...principal.roles], columns: read.columns, rows: read.rows },
  }, at);
}
