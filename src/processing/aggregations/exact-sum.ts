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
 *
 * `sumOf` (a range of values into an empty sum, what serving does per window) first tries a
 * compensated sum whose error bound proves which float64 the exact sum rounds to (see
 * {@link certifiedSum}); the partials are then made only if the sum is used for more than its
 * value.
 */
export class ExactSum {
  // The first `count` entries are the partials; the array never shrinks (setting an array's length is slow).
  private partials: number[] = [];
  private count = 0;
  private big: bigint | undefined;
  /** Values taken in by `sumOf` whose partials are not made yet; their sum is `rounded`. */
  private pending: Float64Array | undefined = undefined;
  private pendingStart = 0;
  private pendingEnd = 0;
  private rounded = 0;
  /** How many values are in the sum (adds minus removes). */
  n = 0;

  reset(): void {
    this.count = 0;
    this.big = undefined;
    this.pending = undefined;
    this.n = 0;
  }

  /**
   * Resets, then adds the non-NaN values of `values[start, end)`, as `add` one by one would. The
   * values must not change until the next `reset` or `restore`: they are read again if the sum
   * is used for more than `value()` and `n`.
   */
  sumOf(values: Float64Array, start: number, end: number): void {
    this.reset();
    const rounded = certifiedSum(values, start, end);
    // certifiedSum counted the values (NaN left out) whether or not it proved the rounding.
    this.n = certified.n;
    if (rounded === rounded) {
      this.pending = values;
      this.pendingStart = start;
      this.pendingEnd = end;
      this.rounded = rounded;
      return;
    }
    this.addValues(values, start, end);
  }

  /** Makes the partials of the values `sumOf` took in (their count is already in `n`). */
  private settle(values: Float64Array): void {
    this.pending = undefined;
    this.addValues(values, this.pendingStart, this.pendingEnd);
  }

  /** Adds the values of `values[start, end)`, NaN left out (`isNullValue`), without counting them. */
  private addValues(values: Float64Array, start: number, end: number): void {
    for (let k = start; k < end; k++) {
      const x = values[k]!;
      if (!isNullValue(x)) this.addExact(x);
    }
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
    if (this.pending !== undefined) this.settle(this.pending);
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
    if (this.pending !== undefined) return this.rounded;
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

  /**
   * The exact sum divided by `n` (the count), rounded once to the nearest float64 (ties to even),
   * for a sum past the float64 range (`value()` infinite): its quotient is then far above 2^53
   * units of 2^-1074, so one bit past them for an inexact remainder decides the rounding as the
   * exact quotient would. Finite: a mean is at most the largest value in magnitude.
   */
  quotientPastRange(n: number): number {
    if (this.pending !== undefined) this.settle(this.pending);
    let units = this.big;
    if (units === undefined) {
      units = 0n;
      for (let k = 0; k < this.count; k++) units += scaledBigInt(this.partials[k]!);
    }
    const divisor = BigInt(n);
    const quotient = units / divisor;
    const sticky = units % divisor === 0n ? 0n : units < 0n ? -1n : 1n;
    return bigToDouble(quotient * 2n + sticky, -1075);
  }

  /** A plain-data copy of the state (for storage), restorable with {@link ExactSum.restore}. */
  snapshot(): ExactSumState {
    if (this.pending !== undefined) this.settle(this.pending);
    return this.big !== undefined ? { n: this.n, big: this.big.toString() } : { n: this.n, partials: this.partials.slice(0, this.count) };
  }

  restore(state: ExactSumState): void {
    this.pending = undefined;
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
    if (this.pending !== undefined) this.settle(this.pending);
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

/**
 * The rule for a float64 in a range: NaN is a null value, never in a sum nor counted. Every loop
 * of `sumOf` (the certified sum and the exact path) decides by it. An infinite or NaN result is
 * never certified (`certifiedSum`); the exact path takes it.
 */
const isNullValue = (x: number): boolean => x !== x;

/** What {@link certifiedSum} counted: the non-NaN values of its range (so `sumOf` does not count them again). */
const certified = { n: 0 };

const view = new DataView(new ArrayBuffer(8));
// One float64 and its two 32-bit halves ([1] holds the sign and exponent on a little-endian machine).
const scratch = new Float64Array(1);
const halves = new Uint32Array(scratch.buffer);
scratch[0] = 1;
const littleEndian = halves[1] === 0x3ff00000;

/**
 * The correctly rounded sum of the non-NaN values of `values[start, end)` (their count in
 * `certified.n`, whatever the outcome) when a compensated sum
 * proves it, else NaN (then the exact path decides). Each addition's error is exact (TwoSum),
 * so the exact sum is s + Σe; c, the rounded Σe, is off by at most about n·2^-53·Σ|e| (bounded
 * here 4x over), and s + c = r + e2 exactly. If e2 plus that bound stays inside half the gap to
 * r's nearer neighbour, no float64 is nearer the exact sum than r: r is its correct rounding,
 * ties included (they are not inside). Overflow, NaN, zero and tiny sums (near subnormals) give
 * NaN.
 */
function certifiedSum(values: Float64Array, start: number, end: number): number {
  let s = 0;
  let c = 0;
  let a = 0;
  let n = 0;
  for (let k = start; k < end; k++) {
    const x = values[k]!;
    if (isNullValue(x)) continue;
    n++;
    const t = s + x;
    const z = t - s;
    const e = (s - (t - z)) + (x - z);
    c += e;
    a += Math.abs(e);
    s = t;
  }
  certified.n = n;
  const r = s + c;
  const z = r - s;
  const e2 = (s - (r - z)) + (c - z);
  scratch[0] = r;
  const high = halves[1]! & 0x7fffffff;
  const low = halves[0]!;
  const biased = high >>> 20;
  if (biased < 60 || biased === 0x7ff || !littleEndian) return NaN;
  // r's unit in the last place; half of it, or a quarter when r is a power of two (the gap below is half as wide).
  halves[1] = (biased - 52) << 20;
  halves[0] = 0;
  const ulp = scratch[0]!;
  const half = (high & 0xfffff) === 0 && low === 0 ? ulp / 4 : ulp / 2;
  return Math.abs(e2) + (n + 1) * a * 2 ** -51 < half ? r : NaN;
}

/** A finite float64 as an exact integer count of 2^-1074 units. */
function scaledBigInt(x: number): bigint {
  view.setFloat64(0, x);
  const high = view.getUint32(0);
  const exponent = (high >>> 20) & 0x7ff;
  const mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  const magnitude = exponent === 0 ? mantissa : ((mantissa | (1n << 52n)) << BigInt(exponent - 1));
  return high >>> 31 ? -magnitude : magnitude;
}

/** An integer count of 2^`unit` units (default 2^-1074), rounded once to the nearest float64 (ties to even; a result at least 2^-1022). */
function bigToDouble(units: bigint, unit = -1074): number {
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
  const exponent = shift + unit;
  const first = Math.max(exponent, -1022);
  const value = Number(a) * 2 ** first * 2 ** (exponent - first);
  return negative ? -value : value;
}
