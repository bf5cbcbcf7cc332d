import { sign, verify, type KeyObject } from 'node:crypto';
import { stableStringify } from '../../definitions/hash.js';
import type { AuditRecord, AuditTrail } from '../../storage/metadata/audit-store.js';
import type { AuditSigningKey } from './audit-signing-key.js';

export const CHECKPOINT_FORMAT = 'sluice-audit-checkpoint/v1';
/** The action of the audit record that stores a checkpoint in the chain itself. */
export const CHECKPOINT_ACTION = 'audit.checkpoint';

/**
 * A signed statement that the audit chain's record `seq` had hash `hash` at time `at`. Kept
 * elsewhere (a witness), it lets `sluice audit verify` catch a truncated tail or a chain rewritten
 * and re-hashed from scratch: the rewritten chain no longer holds `hash` at `seq`.
 */
export interface AuditCheckpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly seq: number;
  readonly hash: string;
  /** When the checkpoint was signed, UTC epoch ms. */
  readonly at: number;
  readonly keyId: string;
  /** Ed25519 over the canonical JSON of `{ format, seq, hash, at, keyId }`, base64. */
  readonly signature: string;
  /** The signer's public key (SPKI PEM), for convenience only: trust comes from a key kept apart (`--public-key`). */
  readonly publicKey?: string;
}

const signedContent = (c: Pick<AuditCheckpoint, 'format' | 'seq' | 'hash' | 'at' | 'keyId'>): Buffer =>
  Buffer.from(stableStringify({ format: c.format, seq: c.seq, hash: c.hash, at: c.at, keyId: c.keyId }));

/** Signs the chain head `{ seq, hash }` at `at`. */
export function signCheckpoint(head: Pick<AuditRecord, 'seq' | 'hash'>, at: number, key: AuditSigningKey): AuditCheckpoint {
  const content = { format: CHECKPOINT_FORMAT, seq: head.seq, hash: head.hash, at, keyId: key.keyId } as const;
  return { ...content, signature: sign(null, signedContent(content), key.privateKey).toString('base64'), publicKey: key.publicKeyPem };
}

/** True when `checkpoint` was signed by `publicKey` and says what it was signed to say. */
export function checkpointSignatureValid(checkpoint: AuditCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, signedContent(checkpoint), publicKey, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The checkpoint an `audit.checkpoint` record carries, or undefined for any other record. */
export function checkpointOf(record: Pick<AuditRecord, 'action' | 'details'>): AuditCheckpoint | undefined {
  if (record.action !== CHECKPOINT_ACTION || record.details === undefined) return undefined;
  const { seq, hash, at, keyId, signature } = record.details as Record<string, unknown>;
  if (typeof seq !== 'number' || typeof hash !== 'string' || typeof at !== 'number' || typeof keyId !== 'string' || typeof signature !== 'string') return undefined;
  return { format: CHECKPOINT_FORMAT, seq, hash, at, keyId, signature };
}

/** Who makes a checkpoint and why (`manual`, `every 1000 records`, `export`). */
export interface CheckpointRequest {
  readonly actor: string;
  readonly origin?: string;
  readonly reason: string;
}

/**
 * Signs `head` (default: the chain's head) and appends the checkpoint to the chain as an
 * `audit.checkpoint` record, so the metadata store keeps every checkpoint with the trail it vouches
 * for. Returns the checkpoint and the record holding it, or undefined while the trail is empty.
 */
export async function appendCheckpoint(
  trail: AuditTrail, key: AuditSigningKey, at: number, request: CheckpointRequest, head?: AuditRecord,
): Promise<{ readonly checkpoint: AuditCheckpoint; readonly record: AuditRecord } | undefined> {
  const signed = head ?? (await trail.head());
  if (!signed) return undefined;
  const checkpoint = signCheckpoint(signed, at, key);
  const { seq, hash, keyId, signature } = checkpoint;
  const record = await trail.append({
    actor: request.actor, action: CHECKPOINT_ACTION, target: `audit:${seq}`, outcome: 'succeeded',
    ...(request.origin === undefined ? {} : { origin: request.origin }),
    details: { seq, hash, at, keyId, signature, reason: request.reason },
  }, at);
  return { checkpoint, record };
}

/** The newest checkpoint stored in the chain (a damaged `audit.checkpoint` record is skipped: verify reports it). */
export async function latestCheckpoint(trail: AuditTrail): Promise<AuditCheckpoint | undefined> {
  for (const record of await trail.list({ action: CHECKPOINT_ACTION, newestFirst: true, limit: 10 })) {
    const found = checkpointOf(record);
    if (found) return found;
  }
  return undefined;
}
