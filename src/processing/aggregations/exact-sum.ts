/**
 * The correctly rounded exact sum of float64 values, as Python's `math.fsum`: the result is the
 * true mathematical sum rounded once to the nearest float64 (ties to even). It depends only on
 * the multiset of values, never on their order, so arrival order, late events, partial
 * aggregates and partitions cannot change a bit of it. Values can also be taken out again
 * (`remove` adds the negation, which is exact), so sliding windows stay exact.
 *
 * Fast path: Shewchuk's non-overlapping partials (usually one or two doubles). If a partial
 * would overflow the float64 range, the sum continues exactly in a BigInt fixed-point number of
 * 2^-1074 units (any finite float64 is an integer multiple of that), and is rounded once at the
 * end. A sum of zero is +0.
 */
export class ExactSum {
  // The first `count` entries are the partials; the array never shrinks (setting an array's length is slow).
  private partials: number[] = [];
  private count = 0;
  private big: bigint | undefined;
  /** How many values are in the sum (adds minus removes). */
  n = 0;

  reset(): void {
    this.count = 0;
    this.big = undefined;
    this.n = 0;
  }

  add(x: number): void {
    this.n++;
    this.addExact(x);
  }

  remove(x: number): void {
    this.n--;
    this.addExact(-x);
  }

  /** Adds a value without counting it (the second half of an int64 split into two doubles). */
  addExact(x: number): void {
    if (this.big !== undefined) {
      this.big += scaledBigInt(x);
      return;
    }
    const partials = this.partials;
    const count = this.count;
    let i = 0;
    for (let j = 0; j < count; j++) {
      let y = partials[j]!;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      if (!Number.isFinite(hi)) {
        this.toBig(partials, i, j, x, y);
        return;
      }
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    // Keep the first i partials and put x after them.
    partials[i] = x;
    this.count = i + 1;
  }

  /** The correctly rounded sum (0 when empty). */
  value(): number {
    if (this.big !== undefined) return bigToDouble(this.big);
    const p = this.partials;
    let n = this.count;
    if (n === 0) return 0;
    let hi = p[--n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n]!;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Round half to even across the remaining partials (as CPython's fsum does).
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi === 0 ? 0 : hi;
  }

  /** A plain-data copy of the state (for storage), restorable with {@link ExactSum.restore}. */
  snapshot(): ExactSumState {
    return this.big !== undefined ? { n: this.n, big: this.big.toString() } : { n: this.n, partials: this.partials.slice(0, this.count) };
  }

  restore(state: ExactSumState): void {
    this.n = state.n;
    this.count = 0;
    for (const p of state.partials ?? []) this.partials[this.count++] = p;
    this.big = state.big === undefined ? undefined : BigInt(state.big);
  }

  /**
   * Adds the values of another sum's snapshot: its partials are its exact total, so the result
   * is the exact sum of both multisets, rounded once (whatever the split).
   */
  merge(state: ExactSumState): void {
    this.n += state.n;
    if (state.big === undefined) {
      for (const p of state.partials ?? []) this.addExact(p);
      return;
    }
    if (this.big === undefined) {
      let total = 0n;
      for (let k = 0; k < this.count; k++) total += scaledBigInt(this.partials[k]!);
      this.count = 0;
      this.big = total;
    }
    this.big += BigInt(state.big);
  }

  private toBig(partials: readonly number[], kept: number, next: number, x: number, y: number): void {
    let total = scaledBigInt(x) + scaledBigInt(y);
    for (let k = 0; k < kept; k++) total += scaledBigInt(partials[k]!);
    for (let k = next + 1; k < this.count; k++) total += scaledBigInt(partials[k]!);
    this.count = 0;
    this.big = total;
  }
}

/** What an {@link ExactSum} stores: its count and either its partials or its BigInt total (2^-1074 units, decimal). */
export interface ExactSumState {
  readonly n: number;
  readonly partials?: readonly number[];
  readonly big?: string;
}

const view = new DataView(new ArrayBuffer(8));

/** A finite float64 as an exact integer count of 2^-1074 units. */
function scaledBigInt(x: number): bigint {
  view.setFloat64(0, x);
  const high = view.getUint32(0);
  const exponent = (high >>> 20) & 0x7ff;
  const mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  const magnitude = exponent === 0 ? mantissa : ((mantissa | (1n << 52n)) << BigInt(exponent - 1));
  return high >>> 31 ? -magnitude : magnitude;
}

/** An integer count of 2^-1074 units, rounded once to the nearest float64 (ties to even). */
function bigToDouble(units: bigint): number {
  if (units === 0n) return 0;
  const negative = units < 0n;
  let a = negative ? -units : units;
  const bits = a.toString(2).length;
  let shift = 0;
  if (bits > 53) {
    shift = bits - 53;
    const q = a >> BigInt(shift);
    const rest = a - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    a = rest > half || (rest === half && (q & 1n) === 1n) ? q + 1n : q;
  }
  // Two steps, so that neither power of two over- or underflows on its own.
  const exponent = shift - 1074;
  const first = Math.max(exponent, -1022);
  const value = Number(a) * 2 ** first * 2 ** (exponent - first);
  return negative ? -value : value;
}
