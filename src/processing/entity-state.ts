import type { Feature, FeatureView } from '../definitions/index.js';

export type Scalar = string | number | boolean | null;

/**
 * One retained event column, columnar. Numbers, booleans (1/0) and timestamps (epoch ms) are a
 * Float64Array with NaN for null (ingestion rejects non-finite numbers, so NaN means only null).
 * Text is dictionary-coded: `codes[i]` indexes `dict`, -1 for null.
 */
export type EventColumn = Float64Array | { readonly dict: readonly string[]; readonly codes: Int32Array };

/**
 * What the online store keeps for one (feature view, entity): enough to answer every feature of
 * the view exactly at any time `t >= horizon + longest window`, including sliding windows that
 * keep expiring after the last event.
 *
 * - `ts`, `columns`: every event with `ts >= horizon`, in (ts, ingestion) order, columnar; one
 *   column per `eventColumns(view)`.
 * - `base`: for each unwindowed feature (by index in `view.features`), its aggregate over the
 *   events before `horizon`; `null` for windowed features (they read the events only) and for
 *   features with no event before the horizon.
 *
 * `horizon` is `asOf - longest window` at materialization, so every window `[t - W, t)` with
 * `t >= asOf` lies inside the retained events. Timestamps are UTC epoch milliseconds.
 */
export interface EntityState {
  readonly horizon: number;
  readonly base: readonly (BaseAggregate | null)[];
  readonly ts: Float64Array;
  readonly columns: readonly EventColumn[];
}

/**
 * Pre-aggregated state of one unwindowed feature over the events before the horizon. Which
 * fields matter depends on the function: `n` (count, avg), `sum` (sum, avg; added in (ts, seq)
 * order), `value` (min/max extreme, last/field latest value), `distinct` (countDistinct).
 * `ts` is the newest contributing event.
 */
export interface BaseAggregate {
  readonly n: number;
  readonly sum: number | null;
  readonly value: Scalar;
  readonly distinct?: readonly Scalar[];
  readonly ts: number;
}

/** The source columns a view's features read, in a stable order: the layout of `columns`. */
export function eventColumns(view: FeatureView): string[] {
  const columns: string[] = [];
  for (const feature of view.features) {
    if (feature.column !== undefined && !columns.includes(feature.column)) columns.push(feature.column);
  }
  return columns;
}

/** Whether a feature is answered from the retained events only (it has a window). */
export function isWindowed(feature: Feature): boolean {
  return feature.windowMs !== undefined;
}
