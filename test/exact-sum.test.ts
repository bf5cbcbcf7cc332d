import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { exactSum } from './support/reference.js';
import { ExactSum } from '../src/processing/aggregations/exact-sum.js';

const double = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e20, max: 1e20 }),
  fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 1, 1 / 3, 2 ** -1074, -(2 ** -1022), 1e308, -1e308, Number.MAX_VALUE, 5e-324),
);

describe('ExactSum: the correctly rounded exact sum', () => {
  test('known values (as math.fsum)', () => {
    const sum = (xs: number[]) => {
      const s = new ExactSum();
      xs.forEach((x) => s.add(x));
      return s.value();
    };
    expect(sum([0.1, 0.2, 0.3])).toBe(0.6);
    expect(sum([0.1, 0.1, 1])).toBe(1.2);
    expect(sum([1e16, 1, -1e16])).toBe(1);
    expect(sum([1e308, 1e308, -1e308])).toBe(1e308);
    expect(sum([Number.MAX_VALUE, Number.MAX_VALUE])).toBe(Infinity);
    expect(sum([-0])).toBe(0);
    expect(Object.is(sum([-0, -0]), 0)).toBe(true);
  });

  test('equals an independent BigInt reference, in any order, with values added and removed', () => {
    fc.assert(
      fc.property(fc.array(double, { maxLength: 40 }), fc.array(double, { maxLength: 10 }), (kept, removed) => {
        const s = new ExactSum();
        for (const x of removed) s.add(x);
        for (const x of kept) s.add(x);
        for (const x of removed) s.remove(x);
        expect(s.n).toBe(kept.length);
        expect(s.value()).toBe(exactSum(kept));
        const reversed = new ExactSum();
        for (const x of [...kept].reverse()) reversed.add(x);
        expect(reversed.value()).toBe(s.value());
      }),
      { numRuns: 1000 },
    );
  });

  test('a snapshot restores the same sum', () => {
    const s = new ExactSum();
    [1e308, 1e308, 0.1].forEach((x) => s.add(x));
    const restored = new ExactSum();
    restored.restore(JSON.parse(JSON.stringify(s.snapshot())));
    restored.add(-1e308);
    expect(restored.value()).toBe(exactSum([1e308, 0.1]));
  });
});
