import type { Accumulator, EventBuffer } from './aggregations/index.js';
import { createAccumulators, type ViewPlan } from './feature-plan.js';

/** Accumulator slots that share one window, and the buffer index of the oldest event in it. */
export interface WindowSpan {
  readonly slots: readonly number[];
  readonly tail: number;
}

/**
 * The as-known rule of a dataset sweep (`computePointInTime` with `asKnown`): at point `t` an
 * event is visible only when `ts < t` **and** `known_at < t`, the values serving could have
 * answered at `t`. The event-time sweep's accumulators hold every event of each window with
 * `ts < t`; an event in a window that is not known yet at `t` ("pending") is a hole in it, which
 * an accumulator cannot take out (it removes only its oldest event). So at a point where a window
 * holds a pending event, that window's slots are recomputed in a second set of the same
 * accumulators (one home per aggregation) from the window's known events, a range at a time
 * around the holes; everywhere else the event-time accumulators answer as they are.
 *
 * Cost: the event-time sweep's, plus, per point and slot whose window holds a pending event,
 * the events of that window (an unbounded window: every earlier event of the entity).
 *
 * @example
 * const known = new AsKnownSweep(plan, builder.buffer);
 * known.append(builder.append(ts, columns, 3, r), ts, knownAt); // each event, in buffer order
 * const using = known.at(t, builder.length, spans, accumulators); // at each point, tails settled
 */
export class AsKnownSweep {
  /** Buffer indices (ascending) and known times of events in the buffer not known at the last point. */
  private pendingIndex: number[] = [];
  private pendingKnown: number[] = [];
  private readonly recomputed: Accumulator[];
  private readonly current: Accumulator[];

  constructor(plan: ViewPlan, buffer: EventBuffer) {
    this.recomputed = createAccumulators(plan, buffer);
    this.current = new Array<Accumulator>(plan.slots.length);
  }

  /** Starts a new entity. */
  reset(): void {
    this.pendingIndex.length = 0;
    this.pendingKnown.length = 0;
  }

  /** Records buffer event `i` (event time `ts`), first known at `knownAt`; call in buffer order. */
  append(i: number, ts: number, knownAt: number): void {
    // Known no later than it happened: visible at every point that can see it (t > ts).
    if (knownAt <= ts) return;
    this.pendingIndex.push(i);
    this.pendingKnown.push(knownAt);
  }

  /**
   * The accumulator of each slot at point `t`, after the event-time `accumulators` hold events
   * `[span.tail, end)` of each span: the event-time one, or for the slots of a span that holds an
   * event not known before `t`, one recomputed from the span's known events.
   */
  at(t: number, end: number, spans: readonly WindowSpan[], accumulators: readonly Accumulator[]): readonly Accumulator[] {
    let oldest = end;
    for (const span of spans) oldest = Math.min(oldest, span.tail);
    // Events known before t stay visible from now on; events before every window never matter again.
    let kept = 0;
    for (let j = 0; j < this.pendingIndex.length; j++) {
      const i = this.pendingIndex[j]!;
      const knownAt = this.pendingKnown[j]!;
      if (knownAt < t || i < oldest) continue;
      this.pendingIndex[kept] = i;
      this.pendingKnown[kept++] = knownAt;
    }
    this.pendingIndex.length = this.pendingKnown.length = kept;
    if (kept === 0) return accumulators;
    for (let s = 0; s < accumulators.length; s++) this.current[s] = accumulators[s]!;
    const newest = this.pendingIndex[kept - 1]!;
    for (const span of spans) {
      if (newest < span.tail) continue;
      let first = 0;
      while (this.pendingIndex[first]! < span.tail) first++;
      for (const s of span.slots) {
        const accumulator = this.recomputed[s]!;
        accumulator.reset();
        let from = span.tail;
        for (let j = first; j < kept; j++) {
          const hole = this.pendingIndex[j]!;
          if (hole > from) accumulator.addRange(from, hole);
          from = hole + 1;
        }
        if (end > from) accumulator.addRange(from, end);
        this.current[s] = accumulator;
      }
    }
    return this.current;
  }
}
