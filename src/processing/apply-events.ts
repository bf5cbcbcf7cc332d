import { isListColumn, type EventColumn, type Int64Column, type TextColumn } from './aggregations/index.js';
import type { EntityState } from './entity-state.js';
import { EntityStateBuilder } from './entity-state-builder.js';
import type { ChunkColumn, ChunkValues } from './event-buffer-builder.js';
import type { ViewPlan } from './feature-plan.js';

/** New events of a view, columnar: `ts` and the plan's columns (`viewPlan(view).columns` order). */
export interface EventBatch {
  readonly ts: Float64Array;
  readonly columns: readonly EventColumn[];
}

/** The low halves of an int64 column whose values are all within 2^53 (`lo` null). */
const NO_LOW_HALVES: ChunkColumn = { get: () => 0 };

/**
 * Event columns in the shape `EventBufferBuilder.append` takes (an int64 column gives two: hi,
 * lo): number columns (NaN null) and int64 halves as their arrays, without a reader per column.
 */
function readers(columns: readonly EventColumn[]): ChunkValues[] {
  return columns.flatMap((column): ChunkValues[] => {
    if (column instanceof Float64Array) return [column];
    if (isListColumn(column)) return [{ get: (i) => column.lists[i] ?? null }];
    if ((column as TextColumn).codes !== undefined) {
      const { dict, codes } = column as TextColumn;
      return [{ get: (i) => (codes[i]! < 0 ? null : dict[codes[i]!]!) }];
    }
    const { hi, lo } = column as Int64Column;
    return [hi, lo ?? NO_LOW_HALVES];
  });
}

/**
 * Applies entities' new events to their online states, one entity at a time, with one
 * `EntityStateBuilder` per view (the streaming hot path allocates per entity only the state it
 * returns).
 */
export class EventApplier {
  private readonly builder: EntityStateBuilder;
  private batch: EventBatch | undefined;
  private batchReaders: ChunkValues[] = [];

  constructor(plan: ViewPlan) {
    this.builder = new EntityStateBuilder(plan);
  }

  /**
   * Applies one entity's new events to its online state, exactly: the result answers every
   * `t >= asOf` (and every `t` the stored state answered) as materializing every event (old and
   * new) would. The stored raw events and the new ones are merged in (ts, arrival) order (an
   * event with the same ts as a stored one came later, so it goes after it); `EntityStateBuilder`
   * then folds what falls before the horizon into the unwindowed slots' base (late events
   * included: every accumulator accepts them in any order, sums are exact, "latest" compares
   * times), adds events of hopped windows' closed hops to their tiles (restoring a stored tile
   * that a late event lands in), and keeps the rest. `rows` index `batch`, sorted by ts, ties in
   * arrival order.
   *
   * Costs O(retained + tiles + new) per call: callers batch an entity's events.
   */
  apply(state: EntityState | undefined, batch: EventBatch, rows: readonly number[], asOf: number): EntityState {
    const builder = this.builder;
    builder.begin(state);
    const oldTs = state?.ts ?? EMPTY;
    const oldValues = state ? readers(state.columns) : [];
    if (batch !== this.batch) {
      this.batch = batch;
      this.batchReaders = readers(batch.columns);
    }
    const newValues = this.batchReaders;
    let o = 0;
    for (const row of rows) {
      const ts = batch.ts[row]!;
      while (o < oldTs.length && oldTs[o]! <= ts) builder.append(oldTs[o]!, oldValues, 0, o++, true);
      builder.append(ts, newValues, 0, row, false);
    }
    while (o < oldTs.length) builder.append(oldTs[o]!, oldValues, 0, o++, true);
    return builder.finish(asOf);
  }
}

const EMPTY = new Float64Array(0);
