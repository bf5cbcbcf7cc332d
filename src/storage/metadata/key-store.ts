/**
 * API keys, as the server and the CLI verify them. The store keeps each key's principal, roles,
 * salt and hash, never the secret. Semantics every implementation keeps:
 * - `create` records a new id once (a second `create` of the same id is a `ConflictError`).
 * - `revoke` is idempotent: the first revocation's time and actor are kept.
 * - A revoked key stays listed (with `revokedAt`), so `any()` stays true once a key was created:
 *   revoking the last key never turns authentication off.
 * - Times are UTC epoch milliseconds.
 */
export interface ApiKey {
  /** Public id, the `<id>` of `sk_<id>_<secret>`. */
  readonly id: string;
  /** The principal the key acts as (the audit trail records `key:<principal>`). */
  readonly principal: string;
  readonly roles: readonly string[];
  readonly createdAt: number;
  /** Who created it (a principal name). */
  readonly createdBy: string;
  readonly revokedAt: number | null;
  readonly revokedBy: string | null;
}

/** A key as stored: its salt and hash (hex), for verification only. */
export interface StoredApiKey extends ApiKey {
  readonly salt: string;
  readonly hash: string;
}

export interface KeyStore {
  create(key: Omit<StoredApiKey, 'revokedAt' | 'revokedBy'>): Promise<ApiKey>;
  /** The key with its salt and hash; revoked keys too (with `revokedAt`). */
  find(id: string): Promise<StoredApiKey | undefined>;
  /** Every key, oldest first, without salt or hash. */
  list(): Promise<ApiKey[]>;
  /** Revokes a key; undefined when no key has this id. */
  revoke(id: string, at: number, by: string): Promise<ApiKey | undefined>;
  /** True once any key was created, revoked or not. */
  any(): Promise<boolean>;
}
