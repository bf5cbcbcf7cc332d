import fc from 'fast-check';
import { expect, test } from 'vitest';
import { ExactSum } from '../src/processing/aggregations/exact-sum.js';
import { avg } from '../src/processing/aggregations/avg.js';
import type { Evaluation } from '../src/processing/aggregations/index.js';
import type { SumAccumulator } from '../src/processing/aggregations/sum-accumulator.js';

// An average whose exact sum is past the float64 range is still within it (it is at most the
// largest value in magnitude): it is the exact sum divided by the count, rounded once (ties to
// even), on every path (one rule: `avg.evaluate`), never null. The reference shares no code with
// the platform: exact rationals in BigInt, the nearest double found by comparing neighbours.

/** A finite double as an exact integer count of 2^-1074 units (by doubling until it is an integer). */
function units(x: number): bigint {
  let y = x;
  let e = 0;
  while (!Number.isInteger(y)) {
    y *= 2;
    e++;
  }
  return BigInt(y) << BigInt(1074 - e);
}

const bits = new DataView(new ArrayBuffer(8));
/** The next double up (away from zero for positive x) or down. */
function step(x: number, up: boolean): number {
  bits.setFloat64(0, x);
  const b = bits.getBigUint64(0);
  bits.setBigUint64(0, (x >= 0) === up ? b + 1n : b - 1n);
  return bits.getFloat64(0);
}

/** The double nearest to p / q (2^-1074 units over a count; for a quotient far above 1, as here), ties to the even significand. */
function nearest(p: bigint, q: bigint): number {
  // The integer part, read correctly rounded from its decimal text, is within an ulp: its neighbours decide exactly.
  const guess = Number(((p / q) >> 1074n).toString());
  const distance = (c: number) => {
    const d = units(c) * q - p;
    return d < 0n ? -d : d;
  };
  const even = (c: number) => {
    bits.setFloat64(0, c);
    return (bits.getBigUint64(0) & 1n) === 0n;
  };
  let best = guess;
  for (const c of [step(guess, false), step(guess, true)]) {
    if (!Number.isFinite(c)) continue;
    const dc = distance(c);
    const db = distance(best);
    if (dc < db || (dc === db && even(c))) best = c;
  }
  return best;
}

const value = fc.oneof(
  fc.constantFrom(1.7e308, -1.7e308, Number.MAX_VALUE, -Number.MAX_VALUE, 1e308, 2 ** 1023, 0.1, 1 / 3, -7.25, 5e-324, 0, 3),
  fc.double({ min: 1e300, max: Number.MAX_VALUE, noNaN: true }),
  fc.double({ min: -Number.MAX_VALUE, max: -1e300, noNaN: true }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

function evaluateAvg(values: readonly number[]): Evaluation {
  const acc = { sum: new ExactSum() } as unknown as SumAccumulator;
  for (const v of values) acc.sum.add(v);
  const out: Evaluation = { value: null, expired: false, absent: false, overflow: false };
  avg.evaluate(acc, 0, undefined, out);
  return out;
}

test('property: an avg whose exact sum is past the float64 range is the correctly rounded mean (a brute-force rational reference), never null', () => {
  let overflowing = 0;
  fc.assert(
    fc.property(fc.array(value, { minLength: 2, maxLength: 40 }), (values) => {
      const exact = values.reduce((s, v) => s + units(v), 0n);
      const sum = new ExactSum();
      for (const v of values) sum.add(v);
      if (Number.isFinite(sum.value())) return;
      overflowing++;
      const out = evaluateAvg(values);
      expect(out).toMatchObject({ value: nearest(exact, BigInt(values.length)), overflow: false });
    }),
    { numRuns: 3000, seed: 20261201 },
  );
  expect(overflowing).toBeGreaterThan(100);
});

test('the review cases: two maxima average to the maximum, a sum past the range of mixed signs; an in-range sum keeps one IEEE division of the rounded sum', () => {
  expect(evaluateAvg([Number.MAX_VALUE, Number.MAX_VALUE])).toMatchObject({ value: Number.MAX_VALUE, overflow: false });
  expect(evaluateAvg([1.7e308, 1.7e308])).toMatchObject({ value: 1.7e308, overflow: false });
  expect(evaluateAvg([-1.7e308, -1.7e308, 1]).value).toBe(nearest(units(-1.7e308) * 2n + units(1), 3n));
  expect(evaluateAvg([1.7e308, 1.7e308, -1.7e308]).value).toBe(1.7e308 / 3);
  expect(evaluateAvg([0.1, 0.2, 0.3]).value).toBe(0.6 / 3);
});
