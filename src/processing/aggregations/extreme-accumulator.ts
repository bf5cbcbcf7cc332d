import type { Accumulator, AccumulatorFactory, EventBuffer } from './accumulator.js';
import { compareText, isNullAt, scalarAt, type ColumnKind, type Int64Column, type Scalar, type TextColumn } from './columns.js';

type Compare = (column: unknown, i: number, j: number) => number;

const compareNumbers: Compare = (column, i, j) => (column as Float64Array)[i]! - (column as Float64Array)[j]!;
const compareInt64: Compare = (column, i, j) => {
  const { hi, lo } = column as Int64Column;
  return hi[i]! - hi[j]! || (lo === null ? 0 : lo[i]! - lo[j]!);
};
const compareCodes: Compare = (column, i, j) => {
  const { dict, codes } = column as TextColumn;
  return codes[i] === codes[j] ? 0 : compareText(dict[codes[i]!]!, dict[codes[j]!]!);
};

function compareScalars(a: Scalar, b: Scalar): number {
  if (typeof a === 'string') return compareText(a, b as string);
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/**
 * The smallest (`sign` 1) or largest (`sign` -1) non-null value: a monotonic queue of event
 * indices, so a sliding window costs O(1) per event. Strings compare by code point; int64 exactly.
 * Among equal values the earliest in the window is kept.
 */
export class ExtremeAccumulator implements Accumulator {
  // Entries [head, tail) are the queue; the array never shrinks (setting an array's length is slow).
  private readonly queue: number[] = [];
  private head = 0;
  private tail = 0;
  private base: Scalar = null;
  private readonly compare: Compare;
  /** Events after the queue's head that `resetToRange` did not queue yet ([pendingStart, pendingEnd); none when pendingEnd < 0). */
  private pendingStart = 0;
  private pendingEnd = -1;

  constructor(
    private readonly buffer: EventBuffer,
    private readonly column: number,
    private readonly kind: ColumnKind,
    private readonly sign: 1 | -1,
  ) {
    this.compare = kind === 'text' ? compareCodes : kind === 'int64' ? compareInt64 : compareNumbers;
  }

  reset(): void {
    this.head = this.tail = 0;
    this.base = null;
    this.pendingEnd = -1;
  }

  /**
   * `reset`, then `addRange`, for events that stay unchanged until the next reset or restore: a
   * float64 column is scanned for the earliest best value only (the queue's head, all `value`
   * needs); the events after it are queued when the accumulator is used for more.
   */
  resetToRange(start: number, end: number): void {
    this.reset();
    const column = this.buffer.columns[this.column]!;
    if (!(column instanceof Float64Array)) return this.addRange(start, end);
    const sign = this.sign;
    let best = -1;
    let bestValue = 0;
    for (let i = start; i < end; i++) {
      const v = column[i]!;
      // As the queue compares: a later equal value does not replace the earlier.
      if (v === v && (best < 0 || sign * (v - bestValue) < 0)) {
        best = i;
        bestValue = v;
      }
    }
    if (best < 0) return;
    this.queue[0] = best;
    this.tail = 1;
    this.pendingStart = best + 1;
    this.pendingEnd = end;
  }

  /** Queues the events `resetToRange` left out, as `addRange` would have. */
  private settle(): void {
    const start = this.pendingStart;
    const end = this.pendingEnd;
    this.pendingEnd = -1;
    this.addRange(start, end);
  }

  add(i: number): void {
    if (this.pendingEnd >= 0) this.settle();
    const column = this.buffer.columns[this.column]!;
    if (isNullAt(column, i)) return;
    const queue = this.queue;
    let tail = this.tail;
    while (tail > this.head && this.sign * this.compare(column, queue[tail - 1]!, i) > 0) tail--;
    queue[tail] = i;
    this.tail = tail + 1;
  }

  addRange(start: number, end: number): void {
    if (this.pendingEnd >= 0) this.settle();
    const column = this.buffer.columns[this.column]!;
    if (!(column instanceof Float64Array)) {
      for (let i = start; i < end; i++) this.add(i);
      return;
    }
    // The hot path of serving (float64 columns): `add` with the comparison inline.
    const queue = this.queue;
    const head = this.head;
    let tail = this.tail;
    for (let i = start; i < end; i++) {
      const v = column[i]!;
      if (v !== v) continue;
      while (tail > head && this.sign * (column[queue[tail - 1]!]! - v) > 0) tail--;
      queue[tail++] = i;
    }
    this.tail = tail;
  }

  remove(i: number): void {
    if (this.pendingEnd >= 0) this.settle();
    if (this.tail > this.head && this.queue[this.head] === i) {
      this.head++;
      if (this.head === this.tail) this.head = this.tail = 0;
    }
  }

  value(): Scalar {
    const best = this.tail > this.head ? scalarAt(this.buffer.columns[this.column]!, this.queue[this.head]!, this.kind) : null;
    if (this.base === null) return best;
    if (best === null) return this.base;
    return this.sign * compareScalars(this.base, best) <= 0 ? this.base : best;
  }

  removeRange(start: number, end: number): void {
    for (let i = start; i < end; i++) this.remove(i);
  }

  snapshot(): Scalar {
    return this.value();
  }

  restore(state: unknown): void {
    this.reset();
    this.base = state as Scalar;
  }

  /** Keeps the better of the two; on a tie the earlier (the one already in). */
  merge(state: unknown): void {
    const v = state as Scalar;
    if (v === null) return;
    if (this.base === null || this.sign * compareScalars(v, this.base) < 0) this.base = v;
  }
}

export const minAccumulator: AccumulatorFactory<ExtremeAccumulator> = {
  kind: 'min',
  create: (buffer, column, kind) => new ExtremeAccumulator(buffer, column, kind!, 1),
};

export const maxAccumulator: AccumulatorFactory<ExtremeAccumulator> = {
  kind: 'max',
  create: (buffer, column, kind) => new ExtremeAccumulator(buffer, column, kind!, -1),
};
