/**
 * Right-to-erasure requests (GDPR Art. 17) and the block list of erased subjects. A subject is
 * `<entity>:<key>`; it is stored only as its keyed hash (`erasureHash`), never as the raw key, so
 * neither the requests nor the block list can be read back into the subject they name.
 *
 * Semantics every implementation keeps:
 * - `request` records the request and adds its subject to the block list in one transaction: from
 *   then on every way in refuses the subject, before its data is removed.
 * - A subject with a pending request is requested once: asking again returns that request.
 * - A request is not `completed` while pending deletions (`PurgeStore.pendingDeletions`) owned by
 *   it remain, nor while unfinished purges (`PurgeStore.unfinishedPurges`: online views not rebuilt
 *   after its lake swap) owned by it remain: `finish` with `completed` then changes nothing and
 *   throws a `ConflictError`.
 * - The block list only grows; `blockListVersion` changes whenever it does, so a reader can
 *   cache the hashes and reload only on a change.
 */
export type ErasureStatus = 'pending' | 'completed' | 'failed';

export interface NewErasureRequest {
  readonly entity: string;
  /** The subject's keyed hash (`erasureHash(secret, entity, key)`). */
  readonly subject: string;
  /** Why, as the requester states it (no personal data). */
  readonly reason?: string;
  /** The principal that asked (`cli:<user>`, `key:<principal>`). */
  readonly requestedBy: string;
  /** UTC epoch ms. */
  readonly receivedAt: number;
  /** When the answer is due (GDPR Art. 12(3): one month from receipt), UTC epoch ms. */
  readonly deadlineAt: number;
}

export interface ErasureRequest extends NewErasureRequest {
  /** `erase-<n>`: stable, readable, carries nothing about the subject. */
  readonly id: string;
  readonly status: ErasureStatus;
  readonly completedAt: number | null;
  readonly error: string | null;
  /** The erasure certificate (what was removed where, counts, times); null until completed. */
  readonly certificate: Readonly<Record<string, unknown>> | null;
}

export type ErasureOutcome =
  | { readonly status: 'completed'; readonly at: number; readonly certificate: Readonly<Record<string, unknown>> }
  | { readonly status: 'failed'; readonly at: number; readonly error: string };

export interface ErasureStore {
  /** Records a request and blocks its subject atomically; `created` is false when a pending request of the subject already existed. */
  request(request: NewErasureRequest): Promise<{ request: ErasureRequest; created: boolean }>;
  /** Records the outcome of a run of the request (a failed one stays blocked and may be run again). */
  finish(id: string, outcome: ErasureOutcome): Promise<void>;
  get(id: string): Promise<ErasureRequest | undefined>;
  /** Requests, newest first; with `status`, only those. */
  list(filter?: { readonly status?: ErasureStatus }): Promise<ErasureRequest[]>;
  /** Every blocked subject's keyed hash, and the list's version. */
  blockList(): Promise<{ readonly version: number; readonly hashes: readonly string[] }>;
  /** The block list's version: changes whenever a subject is added. */
  blockListVersion(): Promise<number>;
  /**
   * Makes rows deleted so far unrecoverable from the store's files: deleted content is zeroed in
   * place (SQLite `secure_delete`) and old page images in the write-ahead log are checkpointed
   * away. `complete` is false when a reader in another process kept the log from being reset.
   */
  expungeDeleted(): Promise<{ readonly complete: boolean }>;
}
