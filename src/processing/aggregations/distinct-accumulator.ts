import { PlainAccumulator, type Accumulator, type AccumulatorFactory, type EventBuffer } from './accumulator.js';
import type { ColumnKind, Int64Column, TextColumn } from './columns.js';

/** A distinct value as a Map key: numbers (bool as 1/0), strings, and int64 beyond 2^53 as decimal text. */
type DistinctKey = number | string;

function keyAt(column: unknown, i: number, kind: ColumnKind): DistinctKey | null {
  if (column instanceof Float64Array) {
    const v = column[i]!;
    return v === v ? v : null;
  }
  if (kind === 'text') {
    const { codes, dict } = column as TextColumn;
    const code = codes[i]!;
    return code < 0 ? null : dict[code]!;
  }
  const { hi, lo } = column as Int64Column;
  const v = hi[i]!;
  if (v !== v) return null;
  const rest = lo?.[i] ?? 0;
  return rest === 0 && Number.isSafeInteger(v) ? v : (BigInt(v) + BigInt(rest)).toString();
}

/**
 * The number of distinct non-null values, with a count per value so that values can leave a
 * sliding window. Text is counted by dictionary code (no string hashing on the hot path).
 * Numbers compare as values (0 and -0 are one value); booleans are 1/0.
 */
export class DistinctAccumulator extends PlainAccumulator implements Accumulator {
  /** Distinct values currently in (base included). */
  size = 0;
  private readonly counts = new Map<DistinctKey, number>();
  private codeCounts = new Int32Array(16);
  // The codes counted since the last reset lie in [lowCode, highCode]: reset clears only those.
  private lowCode = Infinity;
  private highCode = -1;
  private base: Set<DistinctKey> | undefined;

  constructor(
    private readonly buffer: EventBuffer,
    private readonly column: number,
    private readonly kind: ColumnKind,
  ) {
    super();
  }

  reset(): void {
    this.size = 0;
    if (this.counts.size > 0) this.counts.clear();
    if (this.highCode >= 0) this.codeCounts.fill(0, this.lowCode, this.highCode + 1);
    this.lowCode = Infinity;
    this.highCode = -1;
    this.base = undefined;
  }

  add(i: number): void {
    const column = this.buffer.columns[this.column]!;
    if (this.kind === 'text') {
      const code = (column as TextColumn).codes[i]!;
      if (code < 0) return;
      if (code >= this.codeCounts.length) this.growCodes(code);
      if (code < this.lowCode) this.lowCode = code;
      if (code > this.highCode) this.highCode = code;
      if (this.codeCounts[code]!++ === 0 && !this.base?.has((column as TextColumn).dict[code]!)) this.size++;
      return;
    }
    const key = keyAt(column, i, this.kind);
    if (key === null) return;
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    if (n === 0 && !this.base?.has(key)) this.size++;
  }

  addRange(start: number, end: number): void {
    for (let i = start; i < end; i++) this.add(i);
  }

  remove(i: number): void {
    const column = this.buffer.columns[this.column]!;
    if (this.kind === 'text') {
      const code = (column as TextColumn).codes[i]!;
      if (code >= 0 && --this.codeCounts[code]! === 0 && !this.base?.has((column as TextColumn).dict[code]!)) this.size--;
      return;
    }
    const key = keyAt(column, i, this.kind);
    if (key === null) return;
    const n = this.counts.get(key)!;
    if (n === 1) {
      this.counts.delete(key);
      if (!this.base?.has(key)) this.size--;
    } else this.counts.set(key, n - 1);
  }

  /** The distinct values, as keys (see {@link DistinctKey}). */
  removeRange(start: number, end: number): void {
    for (let i = start; i < end; i++) this.remove(i);
  }

  snapshot(): DistinctKey[] {
    const values = new Set<DistinctKey>(this.base);
    for (const key of this.counts.keys()) values.add(key);
    if (this.kind === 'text') {
      const dict = (this.buffer.columns[this.column] as TextColumn).dict;
      this.codeCounts.forEach((n, code) => n > 0 && values.add(dict[code]!));
    }
    return [...values];
  }

  restore(state: unknown): void {
    this.reset();
    this.base = new Set(state as DistinctKey[]);
    this.size = this.base.size;
  }

  /** Adds the snapshot's values to the base (values also counted since are counted once). */
  merge(state: unknown): void {
    const base = (this.base ??= new Set());
    const dict = this.kind === 'text' && this.highCode >= 0 ? (this.buffer.columns[this.column] as TextColumn).dict : undefined;
    for (const key of state as DistinctKey[]) {
      if (base.has(key)) continue;
      base.add(key);
      const counted = dict ? (this.codeCounts[dict.indexOf(key as string)] ?? 0) > 0 : (this.counts.get(key) ?? 0) > 0;
      if (!counted) this.size++;
    }
  }

  /** Each value stays only in the newest tile that holds it (a window holding a tile holds every newer one). */
  compactTiles(states: unknown[]): unknown[] {
    const seen = new Set<DistinctKey>();
    const out = new Array<unknown>(states.length);
    for (let k = states.length - 1; k >= 0; k--) {
      const kept: DistinctKey[] = [];
      for (const key of states[k] as DistinctKey[]) {
        if (seen.has(key)) continue;
        seen.add(key);
        kept.push(key);
      }
      out[k] = kept;
    }
    return out;
  }

  private growCodes(code: number): void {
    const grown = new Int32Array(Math.max(code + 1, this.codeCounts.length * 2));
    grown.set(this.codeCounts);
    this.codeCounts = grown;
  }
}

export const distinctAccumulator: AccumulatorFactory<DistinctAccumulator> = {
  kind: 'distinct',
  create: (buffer, column, kind) => new DistinctAccumulator(buffer, column, kind!),
};
