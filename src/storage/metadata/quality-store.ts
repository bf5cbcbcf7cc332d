import type { CheckKind, CheckSeverity } from '../../definitions/index.js';
import type { TransformLineage } from './metadata-store.js';

/**
 * The outcome of one check on one batch (see `evaluateChecks`): whether it passed, the rows that
 * failed of the rows checked, the fraction that passed, a few failing values (JSON), and a line
 * saying what was expected and found.
 */
export interface CheckOutcome {
  readonly dataset: string;
  readonly check: string;
  readonly kind: CheckKind;
  readonly severity: CheckSeverity;
  readonly passed: boolean;
  readonly failingRows: number;
  readonly totalRows: number;
  readonly observedFraction: number;
  readonly samples: readonly string[];
  readonly message: string;
}

/** A stored result: the outcome, when it was evaluated, by which run, and the quarantined batch it held back (if any). */
export interface StoredCheckResult extends CheckOutcome {
  readonly evaluatedAt: number;
  readonly runId: string | null;
  readonly quarantineId: number | null;
}

export type QuarantineStatus = 'held' | 'released' | 'dropped';

/** A batch an `error` check held back: not in the lake, kept for inspection, release or drop. */
export interface QuarantinedBatch {
  readonly id: number;
  readonly dataset: string;
  /** Where the batch came from, for people: the input file, or the transform run. */
  readonly origin: string;
  /** The held rows as the lake would hold them: a Parquet file, relative to the data directory. */
  readonly file: string;
  readonly rows: number;
  /** The content hash its commit records (ingest: the input file's sha256). */
  readonly contentHash: string;
  /** A transform's batch: the lineage its snapshot commits with (absent for an ingest). */
  readonly lineage?: TransformLineage;
  readonly runId: string | null;
  readonly results: readonly CheckOutcome[];
  readonly createdAt: number;
  readonly status: QuarantineStatus;
  readonly resolvedAt: number | null;
  readonly resolvedBy: string | null;
  /** The snapshot a release committed (or found already committed). */
  readonly snapshot: string | null;
}

export type NewQuarantinedBatch = Omit<QuarantinedBatch, 'id' | 'status' | 'resolvedAt' | 'resolvedBy' | 'snapshot'>;

/** Check outcomes summed per dataset, check and outcome: for metrics. */
export interface CheckResultTotal {
  readonly dataset: string;
  readonly check: string;
  readonly outcome: 'passed' | 'failed';
  readonly count: number;
}

/**
 * Check results and quarantined batches.
 *
 * Semantics every implementation keeps:
 * - `recordResults` stores every result (history); `latestResults` gives, per dataset and
 *   check, the newest by `evaluatedAt` (ties: the one recorded last), ordered by dataset and check.
 * - A quarantined batch is `held` until resolved exactly once: `resolve` moves it to `released`
 *   or `dropped` with who and when, and refuses (ConflictError) a batch no longer held.
 * - Times are UTC epoch ms; several processes may use the store at once.
 */
export interface QualityStore {
  recordResults(results: readonly CheckOutcome[], context: { readonly evaluatedAt: number; readonly runId?: string | null; readonly quarantineId?: number | null }): Promise<void>;
  latestResults(filter?: { readonly dataset?: string; readonly failed?: boolean }): Promise<StoredCheckResult[]>;
  resultTotals(): Promise<CheckResultTotal[]>;
  hold(batch: NewQuarantinedBatch): Promise<QuarantinedBatch>;
  quarantined(id: number): Promise<QuarantinedBatch | undefined>;
  /** Quarantined batches, newest first. */
  listQuarantine(filter?: { readonly status?: QuarantineStatus; readonly dataset?: string }): Promise<QuarantinedBatch[]>;
  resolve(id: number, outcome: { readonly status: 'released' | 'dropped'; readonly by: string; readonly at: number; readonly snapshot?: string }): Promise<QuarantinedBatch>;
}
