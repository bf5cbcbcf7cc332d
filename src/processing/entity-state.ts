import type { EventColumn } from './aggregations/index.js';

export type { Scalar, EventColumn } from './aggregations/index.js';

/**
 * What the online store keeps for one (feature view, entity): enough to answer every feature of
 * the view exactly at any time `t` whose windows all start at or after `horizon`, including
 * sliding windows that keep expiring after the last event.
 *
 * - `ts`, `columns`: every event with `ts >= horizon`, in (ts, ingestion) order, columnar; one
 *   column per event column of the view's plan (`viewPlan(view).columns`).
 * - `base`: per accumulator slot of the view's plan, the accumulator's snapshot over the events
 *   before `horizon` and the timestamp of the newest event it used; `null` for windowed slots
 *   (they read the retained events only) and where no event came before the horizon.
 *
 * `horizon` is the earliest window start at `asOf` (`retentionHorizon`: `asOf - W`, or
 * `floor(asOf - W, hop)` for a hopped window), so every window at `t >= asOf` lies inside the
 * retained events. Timestamps are UTC epoch milliseconds.
 */
export interface EntityState {
  readonly horizon: number;
  readonly base: readonly (BaseState | null)[];
  readonly ts: Float64Array;
  readonly columns: readonly EventColumn[];
}

/** An accumulator's state over the events before the horizon. */
export interface BaseState {
  readonly state: unknown;
  /** The newest event the state used. */
  readonly ts: number;
}
