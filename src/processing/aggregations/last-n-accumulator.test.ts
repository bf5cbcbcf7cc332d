import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { EventBuffer, TextColumn } from './index.js';
import { lastNAccumulator } from './last-n-accumulator.js';

/** A buffer of text events at times `ts` (ascending), null where `values` is null. */
function buffer(ts: number[], values: (string | null)[]): EventBuffer {
  const dict = [...new Set(values.filter((v): v is string => v !== null))];
  const column: TextColumn = { dict, codes: Int32Array.from(values.map((v) => (v === null ? -1 : dict.indexOf(v)))) };
  return { ts: Float64Array.from(ts), columns: [column] };
}

/** The last n non-null values of events [from, to), newest first: the rule, by brute force. */
const expected = (values: (string | null)[], from: number, to: number, n: number) => values.slice(from, to).filter((v) => v !== null).reverse().slice(0, n);

const events = fc.array(fc.option(fc.constantFrom('a', 'b', 'c', 'd'), { freq: 4 }), { maxLength: 120 });

describe('lastN accumulator', () => {
  test('sliding a window over events (ranges and single events, past the trim of old indices) gives the brute-force value', () => {
    fc.assert(
      fc.property(events, fc.integer({ min: 1, max: 5 }), fc.array(fc.tuple(fc.nat(10), fc.nat(6)), { maxLength: 60 }), (values, n, steps) => {
        const acc = lastNAccumulator(n).create(buffer(values.map((_, i) => i), values), 0, 'text');
        let head = 0;
        let tail = 0;
        for (const [grow, shrink] of steps) {
          const end = Math.min(values.length, head + grow);
          if (grow % 2 === 0) acc.addRange(head, end);
          else for (let i = head; i < end; i++) acc.add(i);
          head = end;
          const cut = Math.min(head, tail + shrink);
          if (shrink % 2 === 0) acc.removeRange(tail, cut);
          else for (let i = tail; i < cut; i++) acc.remove(i);
          tail = cut;
          expect(acc.value()).toEqual(expected(values, tail, head, n));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a restored state merges with later events by time: a late event older than restored values goes after them, an equal time before', () => {
    const n = 3;
    const before = buffer([1, 5, 9], ['a', 'b', 'c']);
    const first = lastNAccumulator(n).create(before, 0, 'text');
    first.addRange(0, 3);
    const state = first.snapshot();
    expect(state).toEqual({ value: ['c', 'b', 'a'], ts: [9, 5, 1] });
    const later = buffer([4, 9, 12], ['late', 'tie', 'new']);
    const restored = lastNAccumulator(n).create(later, 0, 'text');
    restored.restore(state);
    restored.addRange(0, 3);
    expect(restored.value()).toEqual(['new', 'tie', 'c']);
    restored.restore(state);
    restored.add(0);
    expect(restored.value()).toEqual(['c', 'b', 'late']);
    expect(restored.snapshot()).toEqual({ value: ['c', 'b', 'late'], ts: [9, 5, 4] });
    restored.reset();
    expect(restored.value()).toEqual([]);
    expect(restored.snapshot()).toBeNull();
  });
});
