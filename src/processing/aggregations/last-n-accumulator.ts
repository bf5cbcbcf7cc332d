import { PlainAccumulator, type Accumulator, type AccumulatorFactory, type EventBuffer } from './accumulator.js';
import { isNullAt, scalarAt, type ColumnKind, type ListElement } from './columns.js';

/** What a last-N accumulator stores for events before the online horizon: its values, newest first, and their times. */
export interface LastNState {
  readonly value: readonly ListElement[];
  readonly ts: readonly number[];
}

const NO_STATE: LastNState = { value: [], ts: [] };

/**
 * The last `n` non-null values of a column in (ts, ingestion) order, newest first. Holds the buffer
 * indices of the non-null events it took, oldest first (events are added in buffer order and
 * removed oldest first, so removing is moving a head); keeps at most about `2n` of them, since
 * older ones can never be among the last `n` again. A restored state holds the last `n` values
 * before the horizon; an event added later is newer than a restored value unless it is older in
 * time (a late event), and equal times count it newer (it was ingested later).
 */
export class LastNAccumulator extends PlainAccumulator implements Accumulator {
  private indices: number[] = [];
  private head = 0;
  private base: LastNState = NO_STATE;

  constructor(
    private readonly buffer: EventBuffer,
    private readonly column: number,
    private readonly kind: ColumnKind,
    private readonly n: number,
  ) {
    super();
  }

  reset(): void {
    this.indices.length = 0;
    this.head = 0;
    this.base = NO_STATE;
  }

  add(i: number): void {
    if (isNullAt(this.buffer.columns[this.column]!, i)) return;
    this.indices.push(i);
    if (this.indices.length - this.head > 2 * this.n + 16) {
      this.indices = this.indices.slice(this.indices.length - this.n);
      this.head = 0;
    }
  }

  addRange(start: number, end: number): void {
    // Only the newest n non-null events of the range can matter.
    let from = end;
    for (let found = 0; from > start && found < this.n; ) if (!isNullAt(this.buffer.columns[this.column]!, --from)) found++;
    for (let i = from; i < end; i++) this.add(i);
  }

  remove(i: number): void {
    this.removeRange(i, i + 1);
  }

  /** Events leave oldest first: every held index below `end` is gone. */
  removeRange(_start: number, end: number): void {
    while (this.head < this.indices.length && this.indices[this.head]! < end) this.head++;
    if (this.head === this.indices.length) {
      this.indices.length = 0;
      this.head = 0;
    }
  }

  /** The values, newest first, with their times: held events merged with the restored ones by time. */
  private collect(withTs: boolean): { value: ListElement[]; ts: number[] } {
    const value: ListElement[] = [];
    const ts: number[] = [];
    const column = this.buffer.columns[this.column]!;
    let j = this.indices.length - 1;
    let b = 0;
    while (value.length < this.n) {
      const held = j >= this.head ? this.indices[j]! : -1;
      const useBase = b < this.base.value.length && (held < 0 || this.base.ts[b]! > this.buffer.ts[held]!);
      if (useBase) {
        value.push(this.base.value[b]!);
        if (withTs) ts.push(this.base.ts[b]!);
        b++;
      } else if (held >= 0) {
        value.push(scalarAt(column, held, this.kind) as ListElement);
        if (withTs) ts.push(this.buffer.ts[held]!);
        j--;
      } else break;
    }
    return { value, ts };
  }

  value(): readonly ListElement[] {
    return this.collect(false).value;
  }

  snapshot(): LastNState | null {
    const state = this.collect(true);
    return state.value.length === 0 ? null : state;
  }

  restore(state: unknown): void {
    this.reset();
    if (state !== null && state !== undefined) this.base = state as LastNState;
  }
}

const factories = new Map<number, AccumulatorFactory<LastNAccumulator>>();

/** The accumulator factory of `lastN(column, n)`: one per `n`, so features with the same `n`, column and window share it. */
export function lastNAccumulator(n: number): AccumulatorFactory<LastNAccumulator> {
  let factory = factories.get(n);
  if (!factory) factories.set(n, (factory = { kind: `last${n}`, create: (buffer, column, kind) => new LastNAccumulator(buffer, column, kind!, n) }));
  return factory;
}
