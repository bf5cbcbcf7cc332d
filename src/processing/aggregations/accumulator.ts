import type { ColumnKind, EventColumn, Scalar } from './columns.js';

/**
 * The events an accumulator's indices refer to: one entity's events in (ts, ingestion) order.
 * A mutable holder: the dataset sweep grows its arrays, online serving points it at each
 * entity's stored state in turn. Accumulators read it at every call, never cache its arrays.
 */
export interface EventBuffer {
  ts: Float64Array;
  columns: EventColumn[];
}

/**
 * Incremental state of one aggregation over a multiset of events. Every path (online serving,
 * materialization, dataset builds, and the streaming paths to come) computes features with
 * these, so their values cannot drift apart. Semantics every accumulator keeps:
 * - `add(i)` takes event `i` of the buffer into the state; `remove(i)` takes it out again, and is
 *   only called for the oldest event still in (windows slide forward in time).
 * - `snapshot()` is plain data (numbers, strings, booleans, bigints, arrays) that `restore()`
 *   turns back into the same state: what the online store keeps for events before its horizon.
 *   A restored state accepts `add` but not `remove` of events it was built from.
 * - The result depends only on which events are in the state, never on the order they came in
 *   (sums are exact); ties of "latest" are decided by the (ts, ingestion) order of the buffer.
 */
export interface Accumulator {
  reset(): void;
  add(i: number): void;
  /** Adds events `[start, end)`, as `add` one by one would (an accumulator may do it faster). */
  addRange(start: number, end: number): void;
  /**
   * `reset`, then `addRange(start, end)`, over a buffer whose events stay unchanged until the
   * next `reset` or `restore` (an evaluation over a state read from a store), so that an
   * accumulator may put off work its value does not need (see `ExactSum.sumOf`); one that has
   * none to put off extends {@link PlainAccumulator}.
   */
  resetToRange(start: number, end: number): void;
  /** Removes events `[start, end)`, the oldest still in, as `remove` one by one would. */
  removeRange(start: number, end: number): void;
  remove(i: number): void;
  snapshot(): unknown;
  restore(state: unknown): void;
  /**
   * Takes in the events a snapshot of another accumulator of the same kind (and column) was
   * taken over, as if they had been added: how hopped windows combine their tiles (one snapshot
   * per hop). Called after `reset`/`restore` and before any `add`, oldest snapshot first; the
   * result is exact and independent of how the events were split into snapshots (counts add,
   * exact sums merge their partials, min/max compare, "latest" compares times, keeping the
   * later snapshot on a tie). Optional: a hopped slot whose accumulator lacks it keeps raw events.
   */
  merge?(state: unknown): void;
  /**
   * Optional: rewrites tile snapshots (oldest first) so that each suffix still merges to the same
   * state (windows always take the newest tiles), dropping what newer tiles repeat: distinct
   * values keep only their newest tile, so tiles hold each value once.
   */
  compactTiles?(states: unknown[]): unknown[];
}

/**
 * The base of an accumulator with no work to put off: its `resetToRange` is `reset`, then
 * `addRange` (the one place this is written).
 *
 * @example
 * class CountAccumulator extends PlainAccumulator implements Accumulator { ... }
 */
export abstract class PlainAccumulator {
  abstract reset(): void;
  abstract addRange(start: number, end: number): void;
  resetToRange(start: number, end: number): void {
    this.reset();
    this.addRange(start, end);
  }
}

/** How to build an accumulator over column `column` (-1: none) of a buffer, of a column kind. */
export interface AccumulatorFactory<A extends Accumulator = Accumulator> {
  /** Name of the kind: features asking for the same kind, column and window share one accumulator. */
  readonly kind: string;
  create(buffer: EventBuffer, column: number, columnKind: ColumnKind | undefined): A;
}

/** A value computed at time `t`: written into `out` to keep the serving path free of allocations. */
export interface Evaluation {
  value: Scalar;
  /** True when the value is null because the row that would give it is older than the view's ttl. */
  expired: boolean;
  /** True when the aggregation had no row at all to answer from (`field`): served as `NOT_FOUND`. */
  absent: boolean;
  /**
   * True when the value is null because the exact result is outside the float64 range (a sum of
   * finite values past about ±1.8e308; see `setNumber`): served as `ERROR`, counted in a dataset's
   * manifest (`overflows`).
   */
  overflow: boolean;
}

/**
 * Writes a numeric result into `out`: the one rule for a result with no float64 value (a sum
 * whose exact value is past the float64 range rounds to ±Infinity), on every path (online,
 * materialize, datasets): it is null with `overflow` set, never ±Infinity (which JSON cannot hold).
 *
 * @example
 * setNumber(out, acc.sum.value()); // out.value null, out.overflow true for a sum of 1.7e308 + 1.7e308
 */
export function setNumber(out: Evaluation, value: number): void {
  const finite = value - value === 0;
  out.value = finite ? value : null;
  out.overflow = !finite;
}
