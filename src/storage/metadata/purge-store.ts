import type { Snapshot } from './metadata-store.js';

/**
 * One physical rewrite of a source's lake files (retention or erasure): each `replaced` file is
 * swapped for its rewritten file (`null`: every row of it was removed, it is dropped) in every
 * snapshot of the source that lists it.
 */
export interface SnapshotRewrite {
  readonly source: string;
  /** Old lake-relative file to its rewritten file, or null when nothing of it is kept. */
  readonly replaced: Readonly<Record<string, string | null>>;
  /** Old file to the rows removed from it. */
  readonly removedRows: Readonly<Record<string, number>>;
  /** Why: `retention`, `erasure`, ... (recorded, never interpreted). */
  readonly reason: string;
  /** UTC epoch ms of the rewrite (the platform's clock). */
  readonly at: number;
  /** The work the rewrite is part of (an erasure request id): its pending deletions are recorded under it. */
  readonly owner?: string;
}

/**
 * A lake file a swap took out of every snapshot (a rewrite replaced it, or its snapshots expired)
 * and that must still be deleted from the lake: it may hold removed rows. Recorded in the swap's
 * transaction, cleared once the file is deleted, so a crash in between leaves a durable to-do.
 */
export interface PendingDeletion {
  readonly file: string;
  readonly source: string;
  readonly reason: string;
  /** The work it is part of (an erasure request id), or null. */
  readonly owner: string | null;
  /** UTC epoch ms of the swap. */
  readonly at: number;
}

/**
 * A purge whose lake rows of `source` are removed (its swap committed) and whose later steps
 * are not done yet: the online views of the source rebuilt from the purged lake, its datasets.
 * Recorded in the swap's transaction, cleared when a purge of the source has done those steps,
 * so a run killed after its swap leaves a durable to-do for the next purge of the source (a view
 * of another entity still counting the removed rows, or holding a removed key in its state).
 */
export interface UnfinishedPurge {
  readonly source: string;
  /** The work it is part of (an erasure request id), or null. */
  readonly owner: string | null;
  /** Why (`retention`, `erasure`), of the latest swap. */
  readonly reason: string;
  /** UTC epoch ms of the latest swap. */
  readonly at: number;
  /** Lake rows the swaps removed, summed over the swaps since it was last cleared. */
  readonly rows: number;
  /** What its runs removed from the other stores (dead letters, online, serving log, datasets, ...), as recorded after each step (`recordPurgeProgress`); empty if none was recorded. */
  readonly stores: readonly StoreCount[];
  /** The step its latest run had started when last recorded (`online`, ...): what that step removed before the run stopped is in no count; null when none was recorded. */
  readonly step: string | null;
}

/** What a purge removed from one store. */
export interface StoreCount {
  readonly store: string;
  readonly rows: number;
  readonly bytes: number;
}

/** A purge's progress after a step, for the run that finishes it if it stops (`PurgeStore.recordPurgeProgress`). */
export interface PurgeProgress {
  readonly source: string;
  readonly owner: string | null;
  readonly reason: string;
  readonly at: number;
  /** The step it starts now. */
  readonly step: string;
  /** What it removed from stores other than the lake so far (with what the runs it finishes had recorded). */
  readonly stores: readonly StoreCount[];
}

/** What one snapshot lost in a rewrite: the evidence a reproducibility check reads instead of failing. */
export interface SnapshotRewriteRecord {
  readonly snapshotId: string;
  readonly source: string;
  readonly reason: string;
  readonly at: number;
  readonly rowsBefore: number;
  readonly rowsAfter: number;
  readonly filesBefore: readonly string[];
  readonly filesAfter: readonly string[];
}

/** Which dead letters to remove. */
export interface DeadLetterPurge {
  /** Recorded before this time (epoch ms). */
  readonly before?: number;
  /** Whose raw text or reason holds every part of one of these (an entity key's parts) as a whole value (`deadLetterMentions`: as written, JSON-escaped, or in raw JSON's decoded values; not inside a longer value). */
  readonly containing?: readonly (readonly string[])[];
}

/**
 * Physical removal in the metadata store. Semantics every implementation keeps:
 * - `rewriteSnapshotFiles` is one transaction: every snapshot of the source listing a replaced
 *   file gets its files swapped (order kept, dropped files left out) and its row count lowered by
 *   the removed rows of its files, and one `SnapshotRewriteRecord` per changed snapshot is stored;
 *   every replaced file no snapshot (of any source) lists afterwards is recorded as a
 *   `PendingDeletion` (with the rewrite's reason and owner) in the same transaction, and the
 *   rewrite's source (with its owner) as an `UnfinishedPurge`, adding its removed rows.
 *   Snapshot ids, versions and content hashes (the ingested input's hash, which keeps an already
 *   ingested export from being ingested again) do not change. When a replaced file is no longer
 *   listed by any snapshot (another rewrite took it), nothing is changed and a `ConflictError`
 *   is thrown: the caller removes its rewritten files and runs again.
 * - `expireSnapshots` deletes, in one transaction, the snapshots of a source created before a time,
 *   never the source's latest one, with their lineage; it returns them. Their files are not
 *   touched: the caller deletes those no remaining snapshot lists, which (unless `dryRun`) are recorded as
 *   `PendingDeletion`s (reason `retention`) in the same transaction.
 * - A pending deletion stays until `clearPendingDeletions` names its file; recording a file
 *   already pending keeps one entry. Listing filters by source and/or owner.
 * - `purgeDeadLetters` deletes the matching dead letters of a source in one transaction and
 *   reports the rows and the bytes of their raw text and reason.
 */
export interface PurgeStore {
  rewriteSnapshotFiles(rewrite: SnapshotRewrite): Promise<SnapshotRewriteRecord[]>;
  /** Rewrites recorded, oldest first: of one snapshot, or of every snapshot of one source. */
  snapshotRewrites(filter: { readonly snapshotId?: string; readonly source?: string }): Promise<SnapshotRewriteRecord[]>;
  purgeDeadLetters(source: string, match: DeadLetterPurge, dryRun?: boolean): Promise<{ rows: number; bytes: number }>;
  /**
   * Removes, in one transaction, the check samples (failing rows shown as text in check results
   * and in quarantined batches' results) of `dataset` that hold every part of one of
   * `containing` (an entity key's parts) as a whole value (`rawMentions`). Reports the samples
   * removed, their bytes, and the quarantined batches whose results changed.
   */
  purgeCheckSamples(dataset: string, containing: readonly (readonly string[])[], dryRun?: boolean): Promise<{ rows: number; bytes: number; batches: number[] }>;
  /** Records that a held quarantined batch's file now holds `rows` rows (a purge rewrote it); false when it is no longer held. */
  setQuarantinedRows(id: number, rows: number): Promise<boolean>;
  /** Deletes the snapshots of `source` created before `before` (epoch ms), except its latest; with `dryRun`, only lists them. */
  expireSnapshots(source: string, before: number, dryRun?: boolean): Promise<Snapshot[]>;
  /** Files swapped out and not yet deleted, oldest first: all, or of these sources and/or this owner. */
  pendingDeletions(filter?: { readonly sources?: readonly string[]; readonly owner?: string }): Promise<PendingDeletion[]>;
  /** Forgets the pending deletions of these files (the caller deleted them). */
  clearPendingDeletions(files: readonly string[]): Promise<void>;
  /** Purges swapped in whose later steps are not done, oldest first: all, or of these sources and/or this owner. */
  unfinishedPurges(filter?: { readonly sources?: readonly string[]; readonly owner?: string }): Promise<UnfinishedPurge[]>;
  /**
   * Records a purge's progress on its unfinished purge (`source`, `owner`), made if missing (0
   * lake rows): the step it starts and what it removed from the other stores so far, replacing
   * the previous record of both (its lake rows stay). A run killed later leaves it for the run
   * that finishes it, to audit.
   */
  recordPurgeProgress(progress: PurgeProgress): Promise<void>;
  /** Forgets the unfinished purges of these sources, of every owner (the caller did their later steps). */
  clearUnfinishedPurges(sources: readonly string[]): Promise<void>;
}
