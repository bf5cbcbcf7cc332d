/**
 * Results of the skew job (`sluice skew`): per run, per feature service and feature, how the
 * values served online compare with the same values recomputed offline. Read by `sluice skew`,
 * `GET /metrics` (`sluice_skew_mismatch_rate`) and anyone auditing a feature.
 */

/** Why a served value was not compared (counted per reason, never silently dropped). */
export type SkewSkipReason =
  /** Served `STALE`: newer data was committed than the table held, or past the view's freshness SLA. */
  | 'STALE'
  /** Served `NOT_MATERIALIZED`: no table answered it (its value is null by definition). */
  | 'NOT_MATERIALIZED'
  /** Served `ERROR` (request views only). */
  | 'ERROR'
  /** A request view: its request values are not in the serving log, so it cannot be recomputed. */
  | 'REQUEST_VIEW'
  /** Served by a table of another definition of its view than the registry's current one. */
  | 'DEFINITION_CHANGED'
  /** The feature is not in the applied definitions any more. */
  | 'UNKNOWN_FEATURE'
  /** A lake snapshot the served value reflected no longer exists, so it cannot be recomputed exactly. */
  | 'SNAPSHOT_UNAVAILABLE';

/** One served value that differs from its offline recomputation. */
export interface SkewExample {
  /** The join key values as requested. */
  readonly keys: Readonly<Record<string, unknown>>;
  readonly entityKey: string;
  /** ISO-8601 UTC: the time both sides were evaluated at. */
  readonly asOf: string;
  /** As served and as recomputed, in the served JSON form (int64 as a decimal string). */
  readonly online: unknown;
  readonly offline: unknown;
}

/** How one feature of one service compared over a run. */
export interface FeatureSkew {
  readonly service: string;
  /** `<view>__<feature>`. */
  readonly feature: string;
  /** Values compared (served with a comparable status and recomputed). */
  readonly compared: number;
  readonly mismatches: number;
  /** `mismatches / compared`; 0 when nothing was compared. */
  readonly mismatchRate: number;
  /** Share of compared values that are null, online and offline. */
  readonly onlineNullRate: number;
  readonly offlineNullRate: number;
  /** Numeric features: the largest and the mean absolute difference over compared pairs where both are non-null (0 when equal); null otherwise. */
  readonly maxAbsDiff: number | null;
  readonly meanAbsDiff: number | null;
  /** Values not compared, by reason. */
  readonly skipped: Readonly<Partial<Record<SkewSkipReason, number>>>;
  /** A few mismatches, first seen first. */
  readonly examples: readonly SkewExample[];
  /**
   * Lake snapshots: `served` counts values per snapshot id they reflected (`<source>=<id>`, `(empty)` for
   * none); `recomputed` the same for what the offline side read; `latest` the latest snapshot per source
   * when the job ran; `servedBehind` how many compared values were served from a snapshot older than one
   * already committed when they were served (the view was behind and not flagged STALE yet: the server
   * notices a new snapshot on its next registry poll).
   */
  readonly snapshots: {
    readonly served: Readonly<Record<string, number>>;
    readonly recomputed: Readonly<Record<string, number>>;
    readonly latest: Readonly<Record<string, string | null>>;
    readonly servedBehind: number;
  };
}

/** One run of the skew job. */
export interface SkewRun {
  /** The id of the job run in run history. */
  readonly runId: string;
  /** When it ran (epoch ms). */
  readonly at: number;
  /** The range of `servedAt` it read: `[since, until)` (epoch ms; since null: from the start of the log). */
  readonly since: number | null;
  readonly until: number;
  readonly features: readonly FeatureSkew[];
}

/** A stored result: one feature of one run. */
export interface StoredFeatureSkew extends FeatureSkew {
  readonly runId: string;
  readonly at: number;
}

/**
 * Semantics every implementation keeps:
 * - `record` stores a run's results atomically (all its features or none); recording the same
 *   run id again replaces its results.
 * - `latest` returns, per (service, feature), the result of the newest run (by `at`, then
 *   recording order) that compared it or skipped it.
 * - `list` returns results newest first, optionally of one service and/or feature.
 */
export interface SkewStore {
  record(run: SkewRun): Promise<void>;
  latest(): Promise<StoredFeatureSkew[]>;
  list(filter: { readonly service?: string; readonly feature?: string; readonly limit: number }): Promise<StoredFeatureSkew[]>;
}
