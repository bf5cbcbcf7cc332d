import type { Feature, FeatureView } from '../definitions/index.js';
import { eventRange, tiledUntil, windowAt } from '../time/index.js';
import { type Accumulator, type EventBuffer, type Evaluation, type Scalar } from './aggregations/index.js';
import type { EntityState, SlotTiles } from './entity-state.js';
import { createAccumulators, newestUsed, viewPlan, type PlannedFeature, type ViewPlan } from './feature-plan.js';
import { compileViewEvaluation, type CompiledViewEvaluation } from './compile-view-evaluation.js';

/** How a served value came about. */
/** `ERROR`: a request view's function threw or returned a value of the wrong type (the value is null). */
export type ValueStatus = 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL' | 'NULL' | 'STALE' | 'NOT_MATERIALIZED' | 'ERROR';

/** Where evaluated values go: arrays indexed by output position. */
export interface ValueSink {
  readonly values: Scalar[];
  readonly status: ValueStatus[];
  readonly ageMs: (number | null)[];
}

/**
 * A view's selected features, resolved once (the serving hot path): the slots they need and one
 * reusable accumulator per slot, reading a buffer pointed at each entity's state in turn.
 */
export interface EvaluationPlan {
  readonly plan: ViewPlan;
  readonly features: readonly PlannedFeature[];
  readonly slots: readonly number[];
  readonly buffer: EventBuffer;
  readonly accumulators: readonly Accumulator[];
  /** The distinct windows of the selected slots (undefined: unbounded), and per slot its index in them. */
  readonly windows: readonly { readonly windowMs: number | undefined; readonly hopMs: number | undefined }[];
  readonly slotWindow: Int32Array;
  /** Per window: the first event inside it at the time evaluated (scratch space). */
  readonly starts: Int32Array;
  /** Per slot: the index of the newest event it used, -1 for none (scratch space). */
  readonly newest: Int32Array;
  /** Per slot: the newest event time of the tiles it merged, NaN for none (scratch space). */
  readonly tileNewest: Float64Array;
  /** The same evaluation for states without tiles, written out for this plan (see `compileViewEvaluation`). */
  readonly compiled: CompiledViewEvaluation;
}

const scratch: Evaluation = { value: null, expired: false, absent: false, overflow: false };

export function planEvaluation(view: FeatureView, features: readonly Feature[]): EvaluationPlan {
  const plan = viewPlan(view);
  const selected = features.map((f) => plan.features[view.features.indexOf(f)]!);
  const buffer: EventBuffer = { ts: new Float64Array(0), columns: [] };
  const slots = [...new Set(selected.map((f) => f.slot))];
  // A window is its length and hop: slots with the same one share its start.
  const windowKey = (s: number) => `${plan.slots[s]!.windowMs}/${plan.slots[s]!.hopMs}`;
  const keys = [...new Set(slots.map(windowKey))];
  const windows = keys.map((key) => {
    const slot = plan.slots[slots.find((s) => windowKey(s) === key)!]!;
    return { windowMs: slot.windowMs, hopMs: slot.hopMs };
  });
  const slotWindow = new Int32Array(plan.slots.length);
  for (const s of slots) slotWindow[s] = keys.indexOf(windowKey(s));
  const evaluation: Omit<EvaluationPlan, 'compiled'> = {
    plan,
    features: selected,
    slots,
    buffer,
    accumulators: createAccumulators(plan, buffer),
    windows,
    slotWindow,
    starts: new Int32Array(windows.length),
    newest: new Int32Array(plan.slots.length),
    tileNewest: new Float64Array(plan.slots.length),
  };
  return { ...evaluation, compiled: compileViewEvaluation(evaluation, scratch) };
}

/**
 * Computes the selected features of one view for one entity at time `t` from its online state,
 * with the same accumulators as every other path. Requires `t` to be at or after the time the
 * state was built for (true for "now" after materializing): every exact window then starts at or
 * after `state.horizon`, and every hopped one at or after its oldest tile (a tiled slot merges the
 * tiles in its window, then adds the raw events after them). Writes feature `f` of the plan to
 * position `positions[f]` of `sink`. `unrolled`: a state without tiles is evaluated by the plan's
 * written-out form (the same calls; faster when one request evaluates many entities in a row, but
 * its larger machine code measured slower over HTTP at one entity per request).
 */
export function evaluateViewInto(plan: EvaluationPlan, state: EntityState | undefined, t: number, sink: ValueSink, positions: readonly number[], unrolled = false): void {
  if (state === undefined) {
    for (let f = 0; f < plan.features.length; f++) {
      const at = positions[f]!;
      sink.values[at] = plan.features[f]!.aggregation.empty;
      sink.status[at] = 'NOT_FOUND';
      sink.ageMs[at] = null;
    }
    return;
  }
  if (unrolled && state.tiles === undefined) {
    plan.compiled(state, t, sink, positions);
    return;
  }
  const { buffer, accumulators, newest, starts, slotWindow, tileNewest } = plan;
  buffer.ts = state.ts;
  buffer.columns = state.columns as EventBuffer['columns'];
  // Every window ends at t: one search per distinct window, shared by its slots.
  let end = 0;
  for (let w = 0; w < plan.windows.length; w++) {
    const range = eventRange(state.ts, windowAt(t, plan.windows[w]!.windowMs, plan.windows[w]!.hopMs));
    starts[w] = range[0];
    end = range[1];
  }
  const slots = plan.plan.slots;
  for (const s of plan.slots) {
    const slot = slots[s]!;
    const start = starts[slotWindow[s]!]!;
    const accumulator = accumulators[s]!;
    const tiles = state.tiles?.slots[s];
    if (tiles) {
      const from = mergeTiles(accumulator, tiles, windowAt(t, slot.windowMs, slot.hopMs).start, state.ts, state.tiles!.asOf, slot.hopMs!);
      tileNewest[s] = from.newest;
      accumulator.addRange(from.raw, end);
      newest[s] = newestUsed(slot, buffer, from.raw, end);
      continue;
    }
    tileNewest[s] = NaN;
    const base = slot.windowMs === undefined ? state.base[s] : null;
    if (base) {
      accumulator.restore(base.state);
      accumulator.addRange(start, end);
    } else accumulator.resetToRange(start, end);
    newest[s] = newestUsed(slot, buffer, start, end);
  }
  for (let f = 0; f < plan.features.length; f++) {
    const { aggregation, slot: s, feature } = plan.features[f]!;
    aggregation.evaluate(accumulators[s]!, t, plan.plan.view.ttlMs, scratch);
    const used = newest[s]!;
    const base = feature.windowMs === undefined ? state.base[s] : null;
    const tiled = tileNewest[s]!;
    const usedTs = used >= 0 ? state.ts[used]! : base ? base.ts : Number.isNaN(tiled) ? undefined : tiled;
    const at = positions[f]!;
    sink.values[at] = scratch.value;
    sink.ageMs[at] = usedTs === undefined ? null : t - usedTs;
    if (scratch.absent) sink.status[at] = 'NOT_FOUND';
    else sink.status[at] = scratch.expired ? 'OUTSIDE_TTL' : scratch.value === null ? (scratch.overflow ? 'ERROR' : 'NULL') : 'PRESENT';
  }
}

const merged = { raw: 0, newest: NaN };

/**
 * Resets `accumulator` and merges the tiles that start at or after `windowStart`; returns the first
 * raw event the window still needs (from `max(windowStart, tiledUntil)`) and the newest time the
 * merged tiles used (NaN for none).
 */
function mergeTiles(accumulator: Accumulator, tiles: SlotTiles, windowStart: number, ts: Float64Array, asOf: number, hopMs: number): typeof merged {
  accumulator.reset();
  let k = eventRange(tiles.starts, { start: windowStart, end: Infinity })[0];
  merged.newest = k < tiles.starts.length ? tiles.newest[tiles.starts.length - 1]! : NaN;
  for (; k < tiles.states.length; k++) accumulator.merge!(tiles.states[k]);
  merged.raw = eventRange(ts, { start: Math.max(windowStart, tiledUntil(asOf, hopMs)), end: Infinity })[0];
  return merged;
}
