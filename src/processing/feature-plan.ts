import type { Feature, FeatureView } from '../definitions/index.js';
import { AGGREGATIONS, aggregationOf, columnKind, isNullAt, type Accumulator, type Aggregation, type ColumnKind, type EventBuffer } from './aggregations/index.js';
import type { AccumulatorFactory } from './aggregations/accumulator.js';
import { liveRowAccumulator } from './aggregations/latest-accumulator.js';

/** One accumulator a view needs: features of the same kind, column and window (length and hop) share it. */
export interface Slot {
  readonly factory: AccumulatorFactory;
  /** Index into the view's event columns, -1 for none (`count()`). */
  readonly column: number;
  readonly columnKind: ColumnKind | undefined;
  readonly windowMs: number | undefined;
  /** A hopped window's hop (see `windowAt`), undefined for an exact window. */
  readonly hopMs: number | undefined;
  /** Whether a row with a null column still counts as used (its age): `count()`, `field`. */
  readonly usesNullRows: boolean;
}

export interface PlannedFeature {
  readonly feature: Feature;
  readonly aggregation: Aggregation;
  readonly slot: number;
}

/**
 * How a view's features are computed, resolved once from its definition: the event columns it
 * reads (the layout of every event buffer and of the online state) and its accumulator slots.
 * Every path builds on this, so they agree on layout and sharing.
 */
export interface ViewPlan {
  readonly view: FeatureView;
  readonly columns: readonly string[];
  readonly columnKinds: readonly ColumnKind[];
  readonly slots: readonly Slot[];
  /** Parallel to `view.features`. */
  readonly features: readonly PlannedFeature[];
}

const plans = new WeakMap<FeatureView, ViewPlan>();

/** The plan of a view (cached per compiled definition). */
export function viewPlan(view: FeatureView): ViewPlan {
  let plan = plans.get(view);
  if (plan) return plan;
  const columns: string[] = [];
  for (const f of view.features) if (f.column !== undefined && !columns.includes(f.column)) columns.push(f.column);
  if (view.changeOp !== undefined && !columns.includes(view.changeOp)) columns.push(view.changeOp);
  const columnKinds = columns.map((c) => columnKind(view.columnTypes[c]!));
  // A CDC view's field() reads the latest version of the row, which a delete ends.
  const liveRow = view.changeOp === undefined ? undefined : liveRowAccumulator(columns.indexOf(view.changeOp));
  const slots: Slot[] = [];
  const features = view.features.map((feature): PlannedFeature => {
    const aggregation = feature.fn === 'field' && liveRow ? { ...AGGREGATIONS.field, accumulator: liveRow } : aggregationOf(feature);
    const column = feature.column === undefined ? -1 : columns.indexOf(feature.column);
    let slot = slots.findIndex((s) => s.factory === aggregation.accumulator && s.column === column && s.windowMs === feature.windowMs && s.hopMs === feature.hopMs);
    if (slot < 0) {
      slot = slots.push({
        factory: aggregation.accumulator,
        column,
        columnKind: column < 0 ? undefined : columnKinds[column],
        windowMs: feature.windowMs,
        hopMs: feature.hopMs,
        usesNullRows: column < 0 || aggregation.usesNullRows,
      }) - 1;
    }
    return { feature, aggregation, slot };
  });
  plan = { view, columns, columnKinds, slots, features };
  plans.set(view, plan);
  return plan;
}

/**
 * Whether a slot's value used event `i`: every row for `count()` and `field`, else only rows
 * whose column is not null. The one rule for a value's age, on every path.
 */
export function slotUses(slot: Slot, buffer: EventBuffer, i: number): boolean {
  return slot.usesNullRows || !isNullAt(buffer.columns[slot.column]!, i);
}

/** The newest event in `[start, end)` that a slot used, -1 for none. */
export function newestUsed(slot: Slot, buffer: EventBuffer, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (slotUses(slot, buffer, i)) return i;
  return -1;
}

/** One accumulator per slot, reading `buffer`. */
export function createAccumulators(plan: ViewPlan, buffer: EventBuffer): Accumulator[] {
  return plan.slots.map((slot) => slot.factory.create(buffer, slot.column, slot.columnKind));
}
