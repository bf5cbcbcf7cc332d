import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Accumulator, AccumulatorFactory, EventBuffer } from './accumulator.js';
import type { ColumnKind } from './columns.js';
import { countAccumulator } from './counters.js';
import { distinctAccumulator } from './distinct-accumulator.js';
import { maxAccumulator, minAccumulator } from './extreme-accumulator.js';
import { lastAccumulator, latestRowAccumulator } from './latest-accumulator.js';
import { sumAccumulator } from './sum-accumulator.js';

// Every accumulator that hopped windows tile: merging the snapshots of consecutive runs of events
// (tiles), oldest first, gives the state of adding every event, bit for bit; so does every suffix
// of tiles after `compactTiles`, as windows take the newest tiles.
const KINDS: [string, AccumulatorFactory, number, ColumnKind | undefined][] = [
  ['count()', countAccumulator, -1, undefined],
  ['count(v)', countAccumulator, 0, 'number'],
  ['sum(v)', sumAccumulator, 0, 'number'],
  ['sum(i)', sumAccumulator, 2, 'int64'],
  ['min(v)', minAccumulator, 0, 'number'],
  ['max(s)', maxAccumulator, 1, 'text'],
  ['countDistinct(s)', distinctAccumulator, 1, 'text'],
  ['countDistinct(v)', distinctAccumulator, 0, 'number'],
  ['countDistinct(i)', distinctAccumulator, 2, 'int64'],
  ['last(s)', lastAccumulator, 1, 'text'],
  ['field(v)', latestRowAccumulator, 0, 'number'],
];

const value = fc.oneof(fc.constant(NaN), fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 1, 1 / 3, 1e308, -1e308, Number.MAX_VALUE, 5e-324));
const event = fc.record({ v: value, s: fc.integer({ min: -1, max: 4 }), hi: fc.constantFrom(NaN, 1, -3, 2 ** 63), lo: fc.constantFrom(0, 0, -1, 1) });

function bufferOf(events: { v: number; s: number; hi: number; lo: number }[]): EventBuffer {
  return {
    ts: Float64Array.from(events, (_, i) => Math.floor(i / 2)),
    columns: [
      Float64Array.from(events, (e) => e.v),
      { dict: ['a', 'b', 'B', 'é', '\u{1F600}'], codes: Int32Array.from(events, (e) => e.s) },
      { hi: Float64Array.from(events, (e) => e.hi), lo: Float64Array.from(events, (e) => (Number.isNaN(e.hi) ? 0 : e.lo)) },
    ],
  };
}

/** What an accumulator answers, comparable bit for bit (-0 and NaN included). */
const answer = (a: Accumulator) => {
  const value = (a as { value?: () => unknown }).value?.() ?? (a as { n?: number }).n ?? (a as { size?: number }).size;
  const sum = (a as { sum?: { value(): number; n: number } }).sum;
  return sum ? [Object.is(sum.value(), -0) ? '-0' : sum.value(), sum.n] : [value, (a as { ts?: () => number }).ts?.()];
};

describe('Accumulator.merge: tiles merge to the state of their events', () => {
  for (const [name, factory, column, kind] of KINDS) {
    test(name, () => {
      fc.assert(
        fc.property(fc.array(event, { maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 6 }), (events, cuts) => {
          const buffer = bufferOf(events);
          const bounds = [0, ...[...new Set(cuts.map((c) => Math.min(c, events.length)))].sort((a, b) => a - b), events.length];
          const tile = factory.create(buffer, column, kind);
          let states: unknown[] = [];
          for (let k = 0; k + 1 < bounds.length; k++) {
            tile.reset();
            tile.addRange(bounds[k]!, bounds[k + 1]!);
            states.push(tile.snapshot());
          }
          states = tile.compactTiles?.(states) ?? states;
          for (let k = 0; k < states.length; k++) {
            const merged = factory.create(buffer, column, kind);
            merged.reset();
            for (const state of states.slice(k)) merged.merge!(state);
            const direct = factory.create(buffer, column, kind);
            direct.reset();
            direct.addRange(bounds[k]!, events.length);
            expect(answer(merged)).toEqual(answer(direct));
          }
        }),
        { numRuns: 200 },
      );
    });
  }
});
