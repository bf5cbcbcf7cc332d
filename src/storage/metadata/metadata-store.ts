import type { Project } from '../../definitions/index.js';

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
  /** Rows in the whole snapshot; also the first `_seq` of the next ingest. */
  readonly rowCount: number;
  readonly addedRows: number;
  readonly contentHash: string;
  readonly createdAt: number;
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
 * - `commitIngest` is atomic: the snapshot and its dead letters are stored together or not at
 *   all, and it fails with a ConflictError if another writer committed to the source after
 *   `parentId` (optimistic concurrency; the caller retries).
 * - Readers see only committed data; several processes may use the store at once.
 * - Times are UTC epoch milliseconds.
 */
export interface MetadataStore {
  latestRegistry(): Promise<RegistryVersion | undefined>;
  /** Records `project` as the next registry version. */
  recordRegistry(project: Project): Promise<RegistryVersion>;

  latestSnapshot(source: string): Promise<Snapshot | undefined>;
  /** The snapshot that first ingested a file with this content hash, if any. */
  findIngest(source: string, contentHash: string): Promise<Snapshot | undefined>;
  commitIngest(snapshot: Omit<Snapshot, 'version' | 'createdAt'>, deadLetters: readonly DeadLetter[]): Promise<Snapshot>;
  /** Dead letters recorded without a snapshot (a file that yielded no valid row). */
  addDeadLetters(deadLetters: readonly DeadLetter[]): Promise<void>;
  listDeadLetters(filter: { source?: string; limit?: number }): Promise<DeadLetter[]>;
  countDeadLetters(source?: string): Promise<number>;

  startRun(job: string, params: Record<string, unknown>): Promise<RunRecord>;
  finishRun(id: string, outcome: { status: 'succeeded' | 'failed'; stats?: Record<string, unknown>; error?: string }): Promise<void>;
  listRuns(limit: number): Promise<RunRecord[]>;

  close(): Promise<void>;
}
