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
 * retained events; a state with `tiles` keeps raw events only from `rawEventsHorizon` (its
 * hopped windows' closed hops are tiles). Timestamps are UTC epoch milliseconds.
 */
export interface EntityState {
  readonly horizon: number;
  readonly base: readonly (BaseState | null)[];
  readonly ts: Float64Array;
  readonly columns: readonly EventColumn[];
  /** Pre-aggregated hops of hopped windows; absent (states of hot entities only, and of earlier versions): every slot reads raw events. */
  readonly tiles?: EntityTiles;
}

/**
 * Hopped windows' tiles (bounded memory for long windows over hot entities): for each tiled slot
 * (window `W`, hop `H`), the events of the closed hops from `windowAt(asOf, W, H).start` up to
 * `tiledUntil(asOf, H)`, one accumulator snapshot per hop in which the slot used an event. The
 * raw events (from `horizon`, at most `tiledUntil`) hold the rest. A window at `t >= asOf` merges
 * the tiles starting at or after its start, then the raw events from `max(start, tiledUntil)`.
 */
export interface EntityTiles {
  /** The time the tiles were cut at. */
  readonly asOf: number;
  /** Per slot of the view's plan: its tiles, null for a slot read from raw events (not hopped, or its accumulator has no `merge`). */
  readonly slots: readonly (SlotTiles | null)[];
}

/** One slot's tiles, oldest first. */
export interface SlotTiles {
  /** Each tile's hop start (a multiple of the hop), ascending. */
  readonly starts: Float64Array;
  /** Per tile: the newest event the slot used in it (for ages). */
  readonly newest: Float64Array;
  /** Per tile: the accumulator's snapshot over its events (see `Accumulator.merge`). */
  readonly states: readonly unknown[];
}

/** An accumulator's state over the events before the horizon. */
export interface BaseState {
  readonly state: unknown;
  /** The newest event the state used. */
  readonly ts: number;
}
