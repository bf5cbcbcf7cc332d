import { firstAtOrAfter, windowStartAt } from '../time/index.js';
import type { Evaluation } from './aggregations/index.js';
import type { EntityState } from './entity-state.js';
import { newestUsed } from './feature-plan.js';
import type { EvaluationPlan, ValueSink } from './evaluate-online.js';

/** `evaluateViewInto` for states without tiles, unrolled for one plan (see {@link compileViewEvaluation}). */
export type CompiledViewEvaluation = (state: EntityState, t: number, sink: ValueSink, positions: readonly number[]) => void;

/**
 * The steps `evaluateViewInto` takes for a state without tiles, written out once per plan: one
 * line per window, slot and feature, so that each call to an accumulator or aggregation has its
 * own call site that only ever sees that one object (monomorphic, inlinable), where the shared
 * loop's sites see every kind (megamorphic, a lookup per call). The same calls in the same
 * order, with the plan's constants decided once: whether a slot may restore a base state,
 * whether every row counts for its age (then the newest used event is simply the last in range).
 * The text holds only indices into the plan's arrays, never a name from a definition.
 *
 * @example
 * const evaluate = compileViewEvaluation(plan, scratch);
 * if (state.tiles === undefined) evaluate(state, t, sink, positions);
 */
export function compileViewEvaluation(plan: Omit<EvaluationPlan, 'compiled'>, scratch: Evaluation): CompiledViewEvaluation {
  const slots = plan.plan.slots;
  const lines: string[] = ['const ts = state.ts;', 'buffer.ts = ts;', 'buffer.columns = state.columns;'];
  // Every window ends at t (see windowAt): its end is found once; each distinct window's start once.
  lines.push(plan.windows.length > 0 ? 'const end = firstAtOrAfter(ts, t);' : 'const end = 0;');
  for (let w = 0; w < plan.windows.length; w++) lines.push(`starts[${w}] = firstAtOrAfter(ts, windowStartAt(t, windows[${w}].windowMs, windows[${w}].hopMs));`);
  lines.push('let base;');
  // The newest used event depends only on the slot's column, window and whether null rows count: found once per such triple.
  const newestOf = new Map<string, number>();
  for (const s of plan.slots) {
    const slot = slots[s]!;
    const start = `starts[${plan.slotWindow[s]!}]`;
    if (slot.windowMs === undefined) {
      lines.push(`base = state.base[${s}];`);
      lines.push(`if (base) { a${s}.restore(base.state); a${s}.addRange(${start}, end); }`);
      lines.push(`else a${s}.resetToRange(${start}, end);`);
    } else lines.push(`a${s}.resetToRange(${start}, end);`);
    const same = `${slot.column}/${plan.slotWindow[s]!}/${slot.usesNullRows}`;
    const found = newestOf.get(same);
    // A slot for which every row counts (count(), field) used the last event in range, if any: what newestUsed finds.
    if (found !== undefined) lines.push(`newest[${s}] = newest[${found}];`);
    else lines.push(slot.usesNullRows ? `newest[${s}] = end > ${start} ? end - 1 : -1;` : `newest[${s}] = newestUsed(slots[${s}], buffer, ${start}, end);`);
    if (found === undefined) newestOf.set(same, s);
  }
  lines.push('let used, usedTs, at;');
  for (let f = 0; f < plan.features.length; f++) {
    const { slot: s, feature } = plan.features[f]!;
    lines.push(`f${f}.evaluate(a${s}, t, ttlMs, scratch);`);
    lines.push(`used = newest[${s}];`);
    lines.push(feature.windowMs === undefined ? `base = state.base[${s}]; usedTs = used >= 0 ? ts[used] : base ? base.ts : undefined;` : 'usedTs = used >= 0 ? ts[used] : undefined;');
    lines.push(`at = positions[${f}];`);
    lines.push('sink.values[at] = scratch.value;');
    lines.push('sink.ageMs[at] = usedTs === undefined ? null : t - usedTs;');
    lines.push("sink.status[at] = scratch.absent ? 'NOT_FOUND' : scratch.expired ? 'OUTSIDE_TTL' : scratch.value === null ? (scratch.overflow ? 'ERROR' : 'NULL') : 'PRESENT';");
  }
  // Each accumulator and aggregation bound to its own name: every line's call site sees one object.
  const bound = [...plan.slots.map((s) => `const a${s} = accumulators[${s}];`), ...plan.features.map((_, f) => `const f${f} = features[${f}].aggregation;`)];
  const body = `${bound.join('\n')}\nreturn function evaluateCompiled(state, t, sink, positions) {\n${lines.join('\n')}\n};`;
  const make = new Function('buffer', 'accumulators', 'features', 'slots', 'windows', 'starts', 'newest', 'ttlMs', 'scratch', 'firstAtOrAfter', 'windowStartAt', 'newestUsed', body) as (...args: unknown[]) => CompiledViewEvaluation;
  return make(plan.buffer, plan.accumulators, plan.features, slots, plan.windows, plan.starts, plan.newest, plan.plan.view.ttlMs, scratch, firstAtOrAfter, windowStartAt, newestUsed);
}
