import { PlainAccumulator, type Accumulator, type AccumulatorFactory, type EventBuffer } from './accumulator.js';
import type { Int64Column } from './columns.js';
import { ExactSum, type ExactSumState } from './exact-sum.js';

/** The exact sum and count of a numeric column's non-null values (int64 exactly, from both halves). */
export class SumAccumulator extends PlainAccumulator implements Accumulator {
  readonly sum = new ExactSum();
  constructor(
    private readonly buffer: EventBuffer,
    private readonly column: number,
  ) {
    super();
  }
  reset(): void {
    this.sum.reset();
  }
  add(i: number): void {
    this.apply(i, 1);
  }
  addRange(start: number, end: number): void {
    const column = this.buffer.columns[this.column]!;
    if (!(column instanceof Float64Array)) {
      for (let i = start; i < end; i++) this.add(i);
      return;
    }
    // The hot path of serving (float64 columns): no per-event dispatch on the column's kind.
    const sum = this.sum;
    for (let i = start; i < end; i++) {
      const v = column[i]!;
      if (v === v) sum.add(v);
    }
  }

  /** `reset`, then `addRange`, for a buffer whose values stay unchanged until the next reset or restore (see {@link ExactSum.sumOf}). */
  override resetToRange(start: number, end: number): void {
    const column = this.buffer.columns[this.column]!;
    if (column instanceof Float64Array) this.sum.sumOf(column, start, end);
    else super.resetToRange(start, end);
  }

  remove(i: number): void {
    this.apply(i, -1);
  }
  private apply(i: number, sign: 1 | -1): void {
    const column = this.buffer.columns[this.column]!;
    const int64 = !(column instanceof Float64Array);
    const v = int64 ? (column as Int64Column).hi[i]! : column[i]!;
    if (v !== v) return;
    if (sign > 0) this.sum.add(v);
    else this.sum.remove(v);
    const rest = int64 ? ((column as Int64Column).lo?.[i] ?? 0) : 0;
    if (rest !== 0) this.sum.addExact(sign * rest);
  }
  removeRange(start: number, end: number): void {
    for (let i = start; i < end; i++) this.remove(i);
  }

  snapshot(): ExactSumState {
    return this.sum.snapshot();
  }
  restore(state: unknown): void {
    this.sum.restore(state as ExactSumState);
  }
  merge(state: unknown): void {
    this.sum.merge(state as ExactSumState);
  }
}

export const sumAccumulator: AccumulatorFactory<SumAccumulator> = {
  kind: 'sum',
  create: (buffer, column) => new SumAccumulator(buffer, column),
};
