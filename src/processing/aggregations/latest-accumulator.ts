import type { Accumulator, AccumulatorFactory, EventBuffer } from './accumulator.js';
import { isNullAt, scalarAt, type ColumnKind, type Scalar } from './columns.js';

/** What a latest-value accumulator stores for events before the online horizon. */
export interface LatestState {
  readonly value: Scalar;
  readonly ts: number;
}

/**
 * The latest event in (ts, ingestion) order: of any row (`nonNull` false, for `field`) or of the
 * rows whose column is not null (`last`). Keeps its index, so a sliding window that drops it
 * holds no value (every later row was null).
 */
export class LatestAccumulator implements Accumulator {
  private index = -1;
  private base: LatestState | undefined;

  constructor(
    private readonly buffer: EventBuffer,
    private readonly column: number,
    private readonly kind: ColumnKind,
    private readonly nonNull: boolean,
  ) {}

  reset(): void {
    this.index = -1;
    this.base = undefined;
  }

  /**
   * Events come in (ts, ingestion) order, except into a restored state: a late event older than
   * the restored row is not the latest (an equal time is later in ingestion order, so it is).
   */
  add(i: number): void {
    if (this.nonNull && isNullAt(this.buffer.columns[this.column]!, i)) return;
    if (this.index < 0 && this.base !== undefined && this.buffer.ts[i]! < this.base.ts) return;
    this.index = i;
  }

  /** Only the newest qualifying event of the range matters: scan back from its end. */
  addRange(start: number, end: number): void {
    for (let i = end - 1; i >= start; i--) {
      if (!this.nonNull || !isNullAt(this.buffer.columns[this.column]!, i)) {
        this.add(i);
        return;
      }
    }
  }

  remove(i: number): void {
    if (i === this.index) this.index = -1;
  }

  removeRange(start: number, end: number): void {
    if (this.index >= start && this.index < end) this.index = -1;
  }

  /** True when a row is held (its value may still be null for `field`). */
  get present(): boolean {
    return this.index >= 0 || this.base !== undefined;
  }

  value(): Scalar {
    if (this.index >= 0) return scalarAt(this.buffer.columns[this.column]!, this.index, this.kind);
    return this.base?.value ?? null;
  }

  /** The timestamp of the row held, NaN when none. */
  ts(): number {
    return this.index >= 0 ? this.buffer.ts[this.index]! : (this.base?.ts ?? NaN);
  }

  snapshot(): LatestState | null {
    return this.present ? { value: this.value(), ts: this.ts() } : null;
  }

  restore(state: unknown): void {
    this.reset();
    if (state !== null && state !== undefined) this.base = state as LatestState;
  }
}

export const lastAccumulator: AccumulatorFactory<LatestAccumulator> = {
  kind: 'last',
  create: (buffer, column, kind) => new LatestAccumulator(buffer, column, kind!, true),
};

export const latestRowAccumulator: AccumulatorFactory<LatestAccumulator> = {
  kind: 'latestRow',
  create: (buffer, column, kind) => new LatestAccumulator(buffer, column, kind!, false),
};
