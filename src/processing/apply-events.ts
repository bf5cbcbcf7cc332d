import { isListColumn, type Accumulator, type EventColumn, type Int64Column, type TextColumn } from './aggregations/index.js';
import type { BaseState, EntityState } from './entity-state.js';
import { EventBufferBuilder, type ChunkColumn } from './event-buffer-builder.js';
import { createAccumulators, slotUses, type ViewPlan } from './feature-plan.js';

/** New events of a view, columnar: `ts` and the plan's columns (`viewPlan(view).columns` order). */
export interface EventBatch {
  readonly ts: Float64Array;
  readonly columns: readonly EventColumn[];
}

/** Readers of event columns in the shape `EventBufferBuilder.append` takes (an int64 column gives two: hi, lo). */
function readers(columns: readonly EventColumn[]): ChunkColumn[] {
  return columns.flatMap((column): ChunkColumn[] => {
    if (column instanceof Float64Array) return [{ get: (i) => (Number.isNaN(column[i]!) ? null : column[i]!) }];
    if (isListColumn(column)) return [{ get: (i) => column.lists[i] ?? null }];
    if ((column as TextColumn).codes !== undefined) {
      const { dict, codes } = column as TextColumn;
      return [{ get: (i) => (codes[i]! < 0 ? null : dict[codes[i]!]!) }];
    }
    const { hi, lo } = column as Int64Column;
    return [{ get: (i) => (Number.isNaN(hi[i]!) ? null : hi[i]!) }, { get: (i) => lo?.[i] ?? 0 }];
  });
}

/**
 * Applies entities' new events to their online states, one entity at a time, with buffers and
 * accumulators made once per view (the streaming hot path allocates per entity only the state it
 * returns).
 */
export class EventApplier {
  private readonly builder: EventBufferBuilder;
  private readonly accumulators: Accumulator[];
  private readonly baseSlots: number[];
  private readonly usedTs: Float64Array;
  private batch: EventBatch | undefined;
  private batchReaders: ChunkColumn[] = [];

  constructor(private readonly plan: ViewPlan) {
    this.builder = new EventBufferBuilder(plan.columnKinds);
    this.accumulators = createAccumulators(plan, this.builder.buffer);
    this.baseSlots = plan.slots.flatMap((slot, s) => (slot.windowMs === undefined ? [s] : []));
    this.usedTs = new Float64Array(plan.slots.length);
  }

  /**
   * Applies one entity's new events to its online state, exactly: the result is the state that
   * materializing every event (old and new) at horizon `max(state.horizon, cut)` would give.
   * Events at or after the horizon are merged into the retained events in (ts, arrival) order (an
   * event with the same ts as a retained one came later, so it goes after it); events before it
   * (the retained ones that `cut` passes, and late events older than the horizon) are folded into
   * the unwindowed slots' base, which every accumulator accepts in any order (sums are exact;
   * "latest" compares times). `rows` index `batch`, sorted by ts, ties in arrival order.
   *
   * Costs O(retained + new) per call: callers batch an entity's events.
   */
  apply(state: EntityState | undefined, batch: EventBatch, rows: readonly number[], cut: number): EntityState {
    const { plan, builder, accumulators, baseSlots, usedTs } = this;
    usedTs.fill(NaN);
    builder.reset();
    for (const s of baseSlots) {
      const base = state?.base[s];
      if (base) {
        accumulators[s]!.restore(base.state);
        usedTs[s] = base.ts;
      } else accumulators[s]!.reset();
    }
    const horizon = Math.max(state?.horizon ?? -Infinity, cut);
    const oldTs = state?.ts ?? EMPTY;
    const oldValues = state ? readers(state.columns) : [];
    if (batch !== this.batch) {
      this.batch = batch;
      this.batchReaders = readers(batch.columns);
    }
    const newValues = this.batchReaders;
    let retainedFrom = -1;
    const take = (ts: number, values: readonly ChunkColumn[], row: number): void => {
      const i = builder.append(ts, values, 0, row);
      if (ts >= horizon) {
        if (retainedFrom < 0) retainedFrom = i;
        return;
      }
      for (const s of baseSlots) {
        accumulators[s]!.add(i);
        if (slotUses(plan.slots[s]!, builder.buffer, i) && !(usedTs[s]! >= ts)) usedTs[s] = ts;
      }
    };
    let o = 0;
    for (const row of rows) {
      const ts = batch.ts[row]!;
      while (o < oldTs.length && oldTs[o]! <= ts) take(oldTs[o]!, oldValues, o++);
      take(ts, newValues, row);
    }
    while (o < oldTs.length) take(oldTs[o]!, oldValues, o++);
    const base = plan.slots.map((_, s): BaseState | null => (Number.isNaN(usedTs[s]!) ? null : { state: accumulators[s]!.snapshot(), ts: usedTs[s]! }));
    const { ts, columns } = builder.slice(retainedFrom < 0 ? builder.length : retainedFrom);
    return { horizon, base, ts, columns };
  }
}

const EMPTY = new Float64Array(0);
