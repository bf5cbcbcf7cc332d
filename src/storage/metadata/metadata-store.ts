import type { Project } from '../../definitions/index.js';
import type { HealthStore } from './health-store.js';
import type { AuditTrail } from './audit-store.js';
import type { ErasureStore } from './erasure-store.js';
import type { PurgeStore } from './purge-store.js';
import type { KeyStore } from './key-store.js';
import type { ScheduleStore } from './schedule-store.js';
import type { DriftStore } from './drift-store.js';
import type { QualityStore } from './quality-store.js';
import type { SkewStore } from './skew-store.js';
import type { MaterializedViewStore } from './materialized-view-store.js';

/** One applied version of the project's definitions. */
export interface RegistryVersion {
  readonly version: number;
  readonly project: Project;
  readonly appliedAt: number;
}

/** An immutable, committed state of one source in the lake: the full list of its files. */
export interface Snapshot {
  readonly id: string;
  readonly source: string;
  readonly version: number;
  readonly parentId: string | null;
  readonly files: readonly string[];
  /** Rows in the whole snapshot. */
  readonly rowCount: number;
  readonly addedRows: number;
  readonly contentHash: string;
  readonly createdAt: number;
  /**
   * `compaction`: a rewrite of the parent's small files into fewer, larger ones (`commitCompaction`):
   * the same rows, no new data. Absent for a snapshot that adds or replaces data (an ingest, a
   * stream micro-batch, a transform run).
   */
  readonly operation?: 'compaction';
}

/**
 * One compaction to commit (see `MetadataStore.commitCompaction`): files of the source's latest
 * snapshot (`replaced`) rewritten, row for row, as `files` (already published).
 */
export interface CompactionCommit {
  readonly source: string;
  readonly replaced: readonly string[];
  readonly files: readonly string[];
  /** UTC epoch ms recorded as the snapshot's `createdAt` (the platform's clock); default the wall clock. */
  readonly createdAt?: number;
}

/** A record that was rejected, with where it came from and why. */
export interface DeadLetter {
  readonly source: string;
  readonly file: string;
  /** 1-based line (CSV/JSONL) or row (Parquet) number in the input. */
  readonly line: number;
  readonly raw: string;
  readonly reason: string;
  readonly createdAt: number;
}

/** One ingest to commit: the files it adds to whatever the source's latest snapshot is at commit time. */
export interface IngestCommit {
  readonly source: string;
  /** Lake-relative files this ingest adds (already published). */
  readonly addedFiles: readonly string[];
  readonly addedRows: number;
  /** sha256 of the input file's bytes. */
  readonly contentHash: string;
  /**
   * The input file this ingest read, as `fileIdentity` names it (its path relative to the project
   * directory), stored with the snapshot: a re-run of the same path replaces this ingest's rows
   * even when the file's bytes changed since. Absent for inputs that are not files (a table).
   */
  readonly origin?: string;
  /** Commit even if a snapshot of this source already holds this content. */
  readonly force?: boolean;
  /**
   * Commit in place of this content's earlier ingests (a backfill's `--rerun`): `files`, what
   * `ingestedContent` gave (for `contentHash` and `origin`) before the rows were written, holding `rows` rows, are left out of the
   * new snapshot and its row count is lowered by `rows`, in the same transaction. When the latest
   * snapshot's files of this content are no longer `files` (a purge rewrote one, another re-run
   * replaced them), nothing is committed and a `ConflictError` is thrown. Implies `force`. A crash
   * before the commit leaves the earlier rows as they were.
   */
  readonly replaces?: { readonly files: readonly string[]; readonly rows: number };
  /** UTC epoch ms recorded as the snapshot's `createdAt` (the platform's clock); default the wall clock. */
  readonly createdAt?: number;
  /**
   * An incremental read's high-water mark, moved from `from` (the mark the rows were read after;
   * null: none yet) to `to` in the same transaction as the snapshot. When the stored mark is no
   * longer `from` (another ingest moved it), nothing is committed and a `ConflictError` is thrown.
   */
  readonly cursor?: { readonly from: string | null; readonly to: string };
  /**
   * The erasure block-list version (`ErasureStore.blockListVersion`) read before the rows were
   * checked against the block list. When a subject was blocked since, nothing is committed and a
   * `ConflictError` is thrown: an ingest overlapping an erasure never brings the subject back
   * after the erasure's purge; run again, its rows are refused as `erased`.
   */
  readonly blockListVersion?: number;
}

/** `committed: false` when the content was already committed: `snapshot` is that earlier snapshot. */
export interface IngestCommitOutcome {
  readonly committed: boolean;
  readonly snapshot: Snapshot;
}

/** What a transform's snapshot was computed from: exactly the input snapshots it read, so the result is reproducible. */
export interface TransformLineage {
  /** The transform's definition hash at the run. */
  readonly transformHash: string;
  /** `full`: the snapshot replaces the table's files; `incremental`: it appends to them. */
  readonly mode: 'full' | 'incremental';
  /** Input name to the snapshot id the run read (null: the input had no snapshot). */
  readonly inputs: Readonly<Record<string, string | null>>;
}

/** One transform run to commit: its output files, replacing the table's files (`full`) or added to them. */
export interface TransformCommit {
  readonly source: string;
  readonly files: readonly string[];
  readonly rows: number;
  readonly contentHash: string;
  readonly lineage: TransformLineage;
  /** UTC epoch ms recorded as the snapshot's `createdAt`; default the wall clock. */
  readonly createdAt?: number;
}

/** Who holds a lease: one acquisition by one process (`id` is unique per acquisition). */
export interface LeaseHolder {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** When the holder's process started (`processStart`), where it can be told: a reused pid is not the holder. */
  readonly started?: string;
}

/** A named, expiring claim on a piece of work (`materialize:<view>`, `run:<id>`). */
export interface Lease {
  readonly name: string;
  readonly holder: LeaseHolder;
  readonly acquiredAt: number;
  /** When its holder last renewed it (its acquisition if never): the last time the holder was known alive. */
  readonly renewedAt: number;
  readonly expiresAt: number;
}

/** What a reader's look at a lease saw (see `MetadataStore.sightLease`). */
export interface LeaseSighting {
  readonly lease: Lease;
  /** The reading of the reader's clock at its first look that saw the lease as it is now (same holder, same renewal). */
  readonly unchangedSince: number;
}

export type LeaseAttempt = { readonly acquired: true; readonly lease: Lease } | { readonly acquired: false; readonly heldBy: Lease };

/**
 * Whether a lease's holder is provably gone (expired, or a dead process). The caller supplies
 * it: a store knows no processes. It is called inside the store's transaction, so it must be
 * synchronous and quick.
 */
export type HolderGone = (lease: Lease) => boolean;

/** A training dataset as registered: what it was built from and where it was written. */
export interface DatasetRecord {
  readonly id: string;
  readonly path: string;
  readonly format: string;
  readonly spine: string;
  readonly spineSha256: string;
  readonly timestampColumn: string;
  readonly features: readonly string[];
  /** View name to definition hash. */
  readonly definitions: Readonly<Record<string, string>>;
  /** Source name to snapshot id (null: the source had no snapshot). */
  readonly snapshots: Readonly<Record<string, string | null>>;
  readonly rowCount: number;
  readonly createdAt: number;
  /** Set when rows were computed from the events known before their time (as-known). */
  readonly asKnown?: boolean;
  /** The model the dataset was built for (`--model`, or a declared dataset's `model`). */
  readonly model?: string;
  /** Physical removals that touched it since it was built (retention, erasure): rewritten without rows, or flagged as still holding them. */
  readonly purges?: readonly DatasetPurge[];
}

/** One removal that touched a built dataset. */
export interface DatasetPurge {
  readonly reason: string;
  readonly at: number;
  readonly rows: number;
  /** `rewritten`: the file no longer holds the rows; `flagged`: it still does (tainted), by policy. */
  readonly action: 'rewritten' | 'flagged';
}

/** The lease a run holds while it runs. */
export function runLeaseName(runId: string): string {
  return `run:${runId}`;
}

export type RunStatus = 'running' | 'succeeded' | 'failed';

/** One execution of a job (ingest, materialize, dataset build), successful or not. */
export interface RunRecord {
  readonly id: string;
  readonly job: string;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly params: Record<string, unknown>;
  readonly stats: Record<string, unknown> | null;
  readonly error: string | null;
}

/**
 * The catalogue of everything Sluice knows: registry versions, lake snapshots, dead letters and
 * job runs. Semantics every implementation keeps:
 * - `commitIngest` is atomic and idempotent: in one transaction it checks whether the content
 *   was committed before (then it commits nothing and returns that snapshot, unless `force`),
 *   and appends the files to whatever the source's latest snapshot is, so concurrent ingests of
 *   different files all commit without a conflict. The snapshot and its dead letters are stored
 *   together or not at all, and so is an incremental read's new high-water mark (`cursor`),
 *   which moves only from the mark it was read after.
 * - `reserveSeq` hands out disjoint `_seq` ranges per source, atomically, in reservation order;
 *   a file's `_seq` values never depend on which ingest commits first.
 * - Leases: at most one holder per name. `acquireLease` succeeds when the name is free, held by
 *   the same holder id, or its holder is gone by `isGone`; `renewLease` extends only a lease
 *   still held by that holder id. Lease times are wall-clock, not the platform's clock.
 * - A run holds the lease `run:<id>` from `startRun` (same transaction) to `finishRun`;
 *   `failDeadRuns` marks every running run whose lease is missing or gone as failed, ended at
 *   the lease's `renewedAt` (the run's start without a lease): when it was last known alive,
 *   and never after the time it was noticed (a renewal under a clock that ran ahead). A run's
 *   `finishedAt` is never before its `startedAt` (`finishRun` and `failDeadRuns` alike).
 *   A dead run's run key (the `running` key whose last attempt it is) ends `failed` with it, at
 *   the same time and with the same error, in the same transaction.
 * - Readers see only committed data; several processes may use the store at once.
 * - Times are UTC epoch milliseconds.
 */
/** Runs of one job with one status (and one `params.source`), summed. */
export interface RunTotal {
  readonly job: string;
  readonly status: RunStatus;
  /** `params.source` of the runs; null for jobs that name none. */
  readonly source: string | null;
  readonly runs: number;
  /** Summed `finishedAt - startedAt` of finished runs, in ms. */
  readonly durationMs: number;
  /** Summed `stats.accepted` and `stats.rejected` (rows in and refused, as ingests record them). */
  readonly accepted: number;
  readonly rejected: number;
  /** Start of the newest of these runs, epoch ms. */
  readonly lastStartedAt: number;
}

export interface MetadataStore {
  latestRegistry(): Promise<RegistryVersion | undefined>;
  /** Every registry version, newest first. */
  registryVersions(): Promise<RegistryVersion[]>;
  /** Records `project` as the next registry version. */
  recordRegistry(project: Project): Promise<RegistryVersion>;

  latestSnapshot(source: string): Promise<Snapshot | undefined>;
  /** A snapshot by id, whatever its source; undefined if it does not exist (or no longer). */
  snapshot(id: string): Promise<Snapshot | undefined>;
  /** Snapshots, newest first: of one source, or of all. */
  listSnapshots(filter: { source?: string; limit?: number }): Promise<Snapshot[]>;
  /**
   * The commit time of the newest snapshot of `source` up to `version` that added rows (the time
   * of the newest data that version holds); when none is left but that version holds rows (its
   * history expired), the oldest remaining snapshot's; undefined when it holds no data.
   */
  snapshotDataTime(source: string, version: number): Promise<number | undefined>;
  /** Every lake file some snapshot lists. */
  referencedFiles(): Promise<Set<string>>;
  /** The snapshot that first ingested a file with this content hash, if any. */
  findIngest(source: string, contentHash: string): Promise<Snapshot | undefined>;
  /**
   * The files of the source's latest snapshot that the ingests of this content added, or (with
   * `origin`) of the same input file whatever its bytes were then (see `contentFiles`): what a
   * re-run of the file replaces. A `ConflictError` when an earlier ingest of it can no longer be
   * told apart (its parent snapshot expired).
   */
  ingestedContent(source: string, contentHash: string, origin?: string): Promise<string[]>;
  /** Reserves `count` consecutive `_seq` values for `source`; returns the first. */
  reserveSeq(source: string, count: number): Promise<number>;
  commitIngest(commit: IngestCommit, deadLetters: readonly DeadLetter[]): Promise<IngestCommitOutcome>;
  /** The high-water mark the last committed incremental ingest of `source` stored (see `IngestCommit.cursor`). */
  ingestCursor(source: string): Promise<string | undefined>;
  /**
   * Commits a transform's run as the table's next snapshot, atomically with its lineage: with
   * `lineage.mode` `full` the snapshot lists only `files` (a snapshot need not extend its
   * parent's files), with `incremental` the parent's files and then `files`.
   */
  commitTransform(commit: TransformCommit): Promise<Snapshot>;
  /**
   * Commits a compaction as the source's next snapshot, in one transaction: the latest snapshot's
   * files with `replaced` left out and `files` in the place of the first of them (files committed
   * since the compaction read the snapshot stay), the same row count, `addedRows` 0 and
   * `operation: 'compaction'`, so it is no new data (`snapshotDataTime`). Older snapshots keep
   * their files. When the latest snapshot no longer lists every replaced file (a purge rewrote
   * one, a re-run or a full transform replaced it, another compaction took it), nothing is
   * committed and a `ConflictError` is thrown: the caller removes its files and may run again.
   * An ingest whose files a compaction merged can no longer be re-run in place (`ingestedContent`
   * throws a `ConflictError`).
   */
  commitCompaction(commit: CompactionCommit): Promise<Snapshot>;
  /** The lineage of a snapshot a transform run committed; undefined for any other snapshot. */
  snapshotLineage(id: string): Promise<TransformLineage | undefined>;
  /** Dead letters recorded without a snapshot (a file that yielded no valid row). */
  addDeadLetters(deadLetters: readonly DeadLetter[]): Promise<void>;
  listDeadLetters(filter: { source?: string; limit?: number }): Promise<DeadLetter[]>;
  countDeadLetters(source?: string): Promise<number>;

  acquireLease(name: string, holder: LeaseHolder, ttlMs: number, isGone: HolderGone): Promise<LeaseAttempt>;
  /** Extends a lease still held by `holderId`; undefined if it was lost (released or taken over). */
  renewLease(name: string, holderId: string, ttlMs: number): Promise<Lease | undefined>;
  /** Releases a lease if `holderId` still holds it (and, with `renewedAt`, only if it was not renewed since that renewal). */
  releaseLease(name: string, holderId: string, renewedAt?: number): Promise<void>;
  listLeases(): Promise<Lease[]>;
  /**
   * Records a look at lease `name` by a reader whose clock is `clock` (readings of one clock
   * compare; another clock's do not), reading `now`, and returns the lease with the reading of
   * that clock's first look that saw it unchanged (same holder, same `renewedAt`): `now` when it
   * changed since, or at a first look. Undefined when there is no such lease. So staleness is
   * judged on the reader's own clock, never by comparing the holder's clock with it. A lease's
   * sightings go with it.
   */
  sightLease(name: string, clock: string, now: number): Promise<LeaseSighting | undefined>;

  /** Records a running job holding the lease `run:<id>` for `holder`. */
  startRun(job: string, params: Record<string, unknown>, lease: { holder: LeaseHolder; ttlMs: number }): Promise<RunRecord>;
  /** Records the outcome and releases the run's lease. */
  finishRun(id: string, outcome: { status: 'succeeded' | 'failed'; stats?: Record<string, unknown>; error?: string }): Promise<void>;
  /** Marks running runs whose holder is gone as failed ("the process running it died; last known alive at ..."), ended when last known alive; returns them. */
  failDeadRuns(isGone: HolderGone): Promise<RunRecord[]>;
  /** Runs, newest first; with `filter`, only those of one job and/or one status. */
  listRuns(limit: number, filter?: { job?: string; status?: RunStatus }): Promise<RunRecord[]>;
  /** Run history summed per job and status (and per `params.source`, for jobs that name one): for metrics. */
  runTotals(): Promise<RunTotal[]>;
  /** Stored dead letters per source. */
  deadLetterCounts(): Promise<Record<string, number>>;

  /**
   * Registers a built dataset, one record per file (`path`), in one transaction: the same id at the
   * same path is recorded again (the latest build or rewrite), and the record of another dataset at
   * the path (the file this build overwrote, say a rebuild in place after an erasure) is removed, so a
   * purge never handles a file twice.
   */
  recordDataset(dataset: DatasetRecord): Promise<void>;
  /** Datasets, newest first. */
  listDatasets(limit: number): Promise<DatasetRecord[]>;

  /** Health conditions and the alert outbox (see `HealthStore`). */
  readonly health: HealthStore;
  /** The append-only, hash-chained audit trail (see `AuditTrail`). */
  readonly audit: AuditTrail;
  /** Right-to-erasure requests and the block list of erased subjects (see `ErasureStore`). */
  readonly erasure: ErasureStore;
  /** Physical removal: snapshot file swaps with their rewrite records, dead letters (see `PurgeStore`). */
  readonly purge: PurgeStore;
  /** API keys: principals, roles, salted hashes (see `KeyStore`). */
  readonly keys: KeyStore;
  /** Run keys of scheduled, triggered and backfilled work, and scheduler cursors (see `ScheduleStore`). */
  readonly schedules: ScheduleStore;

  /** Drift results and the profiles they compare (see `DriftStore`). */
  readonly drift: DriftStore;
  /** Results of the skew job, online against offline (see `SkewStore`). */
  readonly skew: SkewStore;

  /** Data quality check results and quarantined batches (see `QualityStore`). */
  readonly quality: QualityStore;
  /** The definition each view was last materialized at (see `MaterializedViewStore`). */
  readonly materialized: MaterializedViewStore;

  close(): Promise<void>;
}
