/**
 * Drift results and the profiles they were computed from. A result compares one feature (or
 * source column) of a current side (served values, a new batch) with a reference side (a
 * training dataset, the previous batch).
 */
export interface DriftResult {
  /** What was compared: `dataset:<id>` (served values against that dataset) or `source:<name>` (a batch against the previous one). */
  readonly subject: string;
  /** The feature column (`<view>__<feature>`) or source column. */
  readonly feature: string;
  readonly metric: 'psi' | 'js';
  readonly score: number;
  readonly warn: number;
  readonly error: number;
  /** `ok` under `warn`, `warn` from `warn`, `error` from `error`. */
  readonly severity: 'ok' | 'warn' | 'error';
  /** Non-null values on each side. */
  readonly referenceCount: number;
  readonly currentCount: number;
  /** Anything else worth showing: null rates, bins, the service, the batch's snapshot. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Epoch ms. */
  readonly computedAt: number;
}

/**
 * Semantics every implementation keeps:
 * - `saveProfile` replaces the profile under a key (a JSON document the store does not read);
 *   `profile` returns the last one saved, undefined when none.
 * - `record` appends results atomically (all or none); `latest` returns, per
 *   `(subject, feature, metric)`, the newest result (by `computedAt`, then by insertion), sorted
 *   by subject then feature; `history` returns every result of a subject, newest first.
 */
export interface DriftStore {
  saveProfile(key: string, profile: unknown, at: number): Promise<void>;
  profile(key: string): Promise<{ readonly profile: unknown; readonly savedAt: number } | undefined>;
  record(results: readonly DriftResult[]): Promise<void>;
  latest(filter?: { readonly subject?: string }): Promise<DriftResult[]>;
  history(subject: string, limit: number): Promise<DriftResult[]>;
}
