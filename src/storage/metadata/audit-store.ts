/**
 * The audit trail: an append-only, hash-chained record of who did what, when, from where, with
 * which outcome and for what purpose. Each record's `hash` commits to the previous record's hash
 * and to its own content (see `auditRecordHash`), so changing, removing or reordering any record
 * breaks the chain from that record on.
 *
 * Records carry no raw personal data: callers put keyed hashes or tokens (`keyedHash`) in
 * `target` and `details`, never an entity key or a feature value.
 */
export type AuditOutcome = 'allowed' | 'denied' | 'succeeded' | 'failed';

export interface AuditEvent {
  /** Who: a principal name (`key:<principal>`), `cli:<os user>`, `scheduler`, or `anonymous`. */
  readonly actor: string;
  /** What: a dotted verb such as `serve.read`, `push.write`, `dataset.build`, `erase.run`, `retention.run`, `keys.create`, `auth.denied`. */
  readonly action: string;
  /** On what: a stable name (`view:fraud_v1`, `source:payments`, `service:fraud`), keyed hashes only for subjects. */
  readonly target: string;
  readonly outcome: AuditOutcome;
  /** From where: a client address (`ip:127.0.0.1`) or `local`. */
  readonly origin?: string;
  /** Why: a declared purpose (`training`, `serving`, `gdpr-art17`), when the caller has one. */
  readonly purpose?: string;
  /** Anything else worth keeping as evidence (counts, bytes, snapshot ids), JSON-serializable, no raw PII. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends AuditEvent {
  /** 1-based position in the chain, without gaps. */
  readonly seq: number;
  /** UTC epoch ms. */
  readonly at: number;
  /** The previous record's hash (`GENESIS_HASH` for the first). */
  readonly prevHash: string;
  /** sha256 hex of `prevHash` and the record's canonical content (`auditRecordHash`). */
  readonly hash: string;
}

export interface AuditListFilter {
  readonly fromSeq?: number;
  readonly since?: number;
  readonly limit?: number;
  readonly action?: string;
  readonly actor?: string;
  readonly newestFirst?: boolean;
}

export interface AuditTrail {
  /** Appends one record at the chain's head, atomically (concurrent writers are serialized). */
  append(event: AuditEvent, at: number): Promise<AuditRecord>;
  /** Appends several records in order, in one transaction (group commit): all of them or none. */
  appendMany(entries: readonly { readonly event: AuditEvent; readonly at: number }[]): Promise<AuditRecord[]>;
  /**
   * Records in chain order (newest first with `newestFirst`), from `fromSeq` (default 1) and/or
   * `since` (epoch ms), only those of `action` / `actor` when given, at most `limit`.
   */
  list(filter?: AuditListFilter): Promise<AuditRecord[]>;
  /** The newest record; undefined while the trail is empty. */
  head(): Promise<AuditRecord | undefined>;
}
