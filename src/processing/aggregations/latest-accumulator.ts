import { PlainAccumulator, type Accumulator, type AccumulatorFactory, type EventBuffer } from './accumulator.js';
import { isNullAt, scalarAt, type ColumnKind, type Scalar, type TextColumn } from './columns.js';

/** What a latest-value accumulator stores for events before the online horizon. */
export interface LatestState {
  readonly value: Scalar;
  readonly ts: number;
  /** True when the latest row is a deletion (a CDC source's `delete`): no row is present. */
  readonly deleted?: boolean;
}

/**
 * The latest event in (ts, ingestion) order: of any row (`nonNull` false, for `field`) or of the
 * rows whose column is not null (`last`). Keeps its index, so a sliding window that drops it
 * holds no value (every later row was null).
 */
export class LatestAccumulator extends PlainAccumulator implements Accumulator {
  private index = -1;
  private base: LatestState | undefined;

  constructor(
    private readonly buffer: EventBuffer,
    private readonly column: number,
    private readonly kind: ColumnKind,
    private readonly nonNull: boolean,
    /** A text column whose value `delete` marks a deleted row (CDC), -1 for none. */
    private readonly opColumn = -1,
  ) {
    super();
  }

  private deletedAt(i: number): boolean {
    if (this.opColumn < 0) return false;
    const op = this.buffer.columns[this.opColumn] as TextColumn;
    const code = op.codes[i]!;
    return code >= 0 && op.dict[code] === 'delete';
  }

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

  /** True when a row is held (its value may still be null for `field`), and it is not a deletion. */
  get present(): boolean {
    if (this.index >= 0) return !this.deletedAt(this.index);
    return this.base !== undefined && this.base.deleted !== true;
  }

  value(): Scalar {
    if (this.index >= 0) return this.deletedAt(this.index) ? null : scalarAt(this.buffer.columns[this.column]!, this.index, this.kind);
    return this.base?.value ?? null;
  }

  /** The timestamp of the row held, NaN when none. */
  ts(): number {
    return this.index >= 0 ? this.buffer.ts[this.index]! : (this.base?.ts ?? NaN);
  }

  snapshot(): LatestState | null {
    if (this.index >= 0) return this.deletedAt(this.index) ? { value: null, ts: this.ts(), deleted: true } : { value: this.value(), ts: this.ts() };
    return this.base ?? null;
  }

  restore(state: unknown): void {
    this.reset();
    if (state !== null && state !== undefined) this.base = state as LatestState;
  }

  /** The later row of the two; on equal times the merged one (snapshots come oldest first). */
  merge(state: unknown): void {
    if (state === null || state === undefined) return;
    const row = state as LatestState;
    if (this.base === undefined || row.ts >= this.base.ts) this.base = row;
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

/**
 * The latest row of a versioned table (a CDC source): as `latestRow`, but a row whose op column
 * (`opColumn`) is `delete` means the entity is gone. One factory per op column position.
 */
export function liveRowAccumulator(opColumn: number): AccumulatorFactory<LatestAccumulator> {
  return { kind: 'liveRow', create: (buffer, column, kind) => new LatestAccumulator(buffer, column, kind!, false, opColumn) };
}
