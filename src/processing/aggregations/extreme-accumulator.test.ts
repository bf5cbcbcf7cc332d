import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { EventBuffer } from './index.js';
import { maxAccumulator, minAccumulator } from './extreme-accumulator.js';

const value = fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, -1, Infinity, -Infinity, Number.NaN, 2.5));

describe('min/max accumulator: resetToRange', () => {
  test('gives the value of reset + addRange, and the same state for what follows (adds, removes of the oldest, ranges)', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 60 }), fc.nat(), fc.nat(), fc.array(fc.tuple(fc.nat(4), fc.nat(3)), { maxLength: 20 }), fc.boolean(), (values, a, b, steps, isMin) => {
        const buffer: EventBuffer = { ts: Float64Array.from(values.map((_, i) => i)), columns: [Float64Array.from(values)] };
        const factory = isMin ? minAccumulator : maxAccumulator;
        const lazy = factory.create(buffer, 0, 'number');
        const plain = factory.create(buffer, 0, 'number');
        if (values.length > 0) lazy.add(0); // resetToRange resets first
        const start = values.length === 0 ? 0 : a % (values.length + 1);
        let end = start + (values.length === 0 ? 0 : b % (values.length - start + 1));
        lazy.resetToRange(start, end);
        plain.reset();
        plain.addRange(start, end);
        expect(Object.is(lazy.value(), plain.value())).toBe(true);
        let oldest = start;
        for (const [grow, shrink] of steps) {
          const next = Math.min(values.length, end + grow);
          if (grow % 2 === 0) {
            lazy.addRange(end, next);
            plain.addRange(end, next);
          } else
            for (let i = end; i < next; i++) {
              lazy.add(i);
              plain.add(i);
            }
          end = next;
          const cut = Math.min(end, oldest + shrink);
          for (let i = oldest; i < cut; i++) {
            lazy.remove(i);
            plain.remove(i);
          }
          oldest = cut;
          expect(Object.is(lazy.value(), plain.value())).toBe(true);
          expect(Object.is(lazy.snapshot(), plain.snapshot())).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
