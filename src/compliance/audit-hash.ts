import { createHash } from 'node:crypto';
import { stableStringify } from '../definitions/hash.js';
import type { AuditRecord } from '../storage/metadata/audit-store.js';

/** The `prevHash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The one rule for a record's hash: sha256 over the previous hash and the record's canonical JSON
 * (keys sorted, `hash` itself excluded). The writer and every verifier use this function.
 */
export function auditRecordHash(record: Omit<AuditRecord, 'hash'>): string {
  const { seq, at, prevHash, actor, action, target, outcome, origin, purpose, details } = record;
  const content = stableStringify({ seq, at, actor, action, target, outcome, origin: origin ?? null, purpose: purpose ?? null, details: details ?? null });
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}
