import type { Feature, FeatureView } from '../definitions/index.js';

/**
 * What the online store keeps for one (feature view, entity): enough to answer every feature of
 * the view exactly at any time `t >= horizon`, including sliding windows that keep expiring
 * after the last event.
 *
 * - `events`: every event with `ts >= horizon`, sorted by (ts, seq), as tuples
 *   `[ts, seq, ...values of eventColumns(view)]`.
 * - `base`: for each unwindowed feature (by index in `view.features`), its aggregate over the
 *   events before `horizon`; `null` for windowed features, which read `events` only.
 *
 * `horizon` is `asOf - longest window` at materialization, so every window `[t - W, t)` with
 * `t >= asOf` lies inside `events`. Timestamps are UTC epoch milliseconds; timestamp-typed
 * values are epoch milliseconds too; int64 values are numbers (exact up to 2^53).
 */
export interface EntityState {
  readonly horizon: number;
  readonly base: readonly (BaseAggregate | null)[];
  readonly events: readonly EventTuple[];
}

export type EventTuple = readonly unknown[];
export type Scalar = string | number | boolean | null;

/**
 * Pre-aggregated state of one unwindowed feature over the events before the horizon. Which
 * fields matter depends on the function: `n` (count, avg), `sum` (sum, avg; added in (ts, seq)
 * order), `value` (min/max extreme, last/field latest value), `distinct` (countDistinct).
 * `ts` is the newest contributing event (null: none), which also tells field/last "no row yet".
 */
export interface BaseAggregate {
  readonly n: number;
  readonly sum: number | null;
  readonly value: Scalar;
  readonly distinct?: readonly Scalar[];
  readonly ts: number | null;
}

/** The source columns a view's features read, in a stable order: the layout of event tuples. */
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
