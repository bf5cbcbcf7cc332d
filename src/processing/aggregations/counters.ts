import { PlainAccumulator, type Accumulator, type AccumulatorFactory, type EventBuffer } from './accumulator.js';
import { isNullAt } from './columns.js';

/** Counts events (`column` -1) or non-null values of a column. */
export class CountAccumulator extends PlainAccumulator implements Accumulator {
  n = 0;
  constructor(
    private readonly buffer: EventBuffer,
    private readonly column: number,
  ) {
    super();
  }
  reset(): void {
    this.n = 0;
  }
  add(i: number): void {
    if (this.column < 0 || !isNullAt(this.buffer.columns[this.column]!, i)) this.n++;
  }
  addRange(start: number, end: number): void {
    if (this.column < 0) this.n += Math.max(0, end - start);
    else for (let i = start; i < end; i++) this.add(i);
  }
  remove(i: number): void {
    if (this.column < 0 || !isNullAt(this.buffer.columns[this.column]!, i)) this.n--;
  }
  removeRange(start: number, end: number): void {
    if (this.column < 0) this.n -= Math.max(0, end - start);
    else for (let i = start; i < end; i++) this.remove(i);
  }

  snapshot(): number {
    return this.n;
  }
  restore(state: unknown): void {
    this.n = state as number;
  }
  merge(state: unknown): void {
    this.n += state as number;
  }
}

export const countAccumulator: AccumulatorFactory<CountAccumulator> = {
  kind: 'count',
  create: (buffer, column) => new CountAccumulator(buffer, column),
};
