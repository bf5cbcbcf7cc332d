import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { EventBuffer, EventColumn, Int64Column, TextColumn } from '../../../processing/aggregations/index.js';
import { countAccumulator } from '../../../processing/aggregations/counters.js';
import { distinctAccumulator } from '../../../processing/aggregations/distinct-accumulator.js';
import { maxAccumulator, minAccumulator } from '../../../processing/aggregations/extreme-accumulator.js';
import { lastAccumulator, latestRowAccumulator } from '../../../processing/aggregations/latest-accumulator.js';
import { sumAccumulator } from '../../../processing/aggregations/sum-accumulator.js';
import type { BaseState, EntityState } from '../../../processing/entity-state.js';
import { decodeEntityState, encodeEntityState } from './entity-state-codec.js';

/** The bytes of every float64 (NaN payloads and -0 included): what "bit-identical" means. */
const bits = (array: Float64Array) => [...new Uint8Array(array.buffer, array.byteOffset, array.byteLength)];

/** A state in a comparable form: typed arrays as plain arrays (float64 by their bytes). */
function comparable(state: EntityState) {
  const column = (c: EventColumn) => {
    if (c instanceof Float64Array) return { number: bits(c) };
    if ('codes' in c) return { dict: [...c.dict], codes: [...c.codes] };
    if ('lists' in c) return { lists: c.lists.map((l) => (l === null ? null : l.map((v) => (typeof v === 'number' ? bits(new Float64Array([v])) : v)))) };
    return { hi: bits(c.hi), lo: c.lo === null ? null : bits(c.lo) };
  };
  return { horizon: state.horizon, base: state.base, ts: bits(state.ts), columns: state.columns.map(column) };
}

function roundTrip(state: EntityState): EntityState {
  const decoded = decodeEntityState(encodeEntityState(state));
  expect(comparable(decoded)).toEqual(comparable(state));
  return decoded;
}

const negativeNaN = new Float64Array(new BigUint64Array([0xfff8_0000_0000_0001n]).buffer)[0]!;

describe('entity state codec', () => {
  test('an empty state, and one with no columns and no base slots', () => {
    roundTrip({ horizon: 0, base: [], ts: new Float64Array(0), columns: [] });
    roundTrip({ horizon: -1.5, base: [null, null], ts: new Float64Array([1, 2]), columns: [] });
    roundTrip({ horizon: 5, base: [], ts: new Float64Array(0), columns: [new Float64Array(0), { dict: [], codes: new Int32Array(0) }, { hi: new Float64Array(0), lo: null }] });
  });

  test('every column kind: float64 with NaN nulls and -0, text dictionary and codes, int64 with and without its rest', () => {
    const text: TextColumn = { dict: ['m1', '', 'héllo wörld, a longer string', '😀', 'x'.repeat(300)], codes: new Int32Array([0, -1, 2, 3, 4, 1]) };
    const int64: Int64Column = { hi: new Float64Array([9007199254740992, NaN, -5, 2 ** 63, 0, 1]), lo: new Float64Array([1, 0, 0, -1, 0, 0]) };
    const small: Int64Column = { hi: new Float64Array([1, 2, NaN, -3, 0, 7]), lo: null };
    // Columns that are views into larger arrays, as materialization may hand over.
    const wide = new Float64Array([99, 1.5, NaN, -0, negativeNaN, Number.MIN_VALUE, -Number.MAX_VALUE, 99]);
    const state: EntityState = {
      horizon: 1_700_000_000_000,
      base: [null, { state: 3, ts: 17 }],
      ts: new Float64Array([1, 2, 2, 3, 4, 5]),
      columns: [wide.subarray(1, 7), text, int64, small, new Float64Array([1, 0, NaN, 1, 1, 0])],
    };
    const decoded = roundTrip(state);
    expect((decoded.columns[1] as TextColumn).dict).toEqual(text.dict);
    expect(Object.is((decoded.columns[0] as Float64Array)[2], -0)).toBe(true);
  });

  test('base states of every accumulator kind round-trip and restore to the same values', () => {
    const buffer: EventBuffer = {
      ts: new Float64Array([1, 2, 3, 4]),
      columns: [
        new Float64Array([1e308, 1e308, -0.1, NaN]),
        { dict: ['b', 'a', 'ü'], codes: new Int32Array([0, 1, -1, 2]) },
        { hi: new Float64Array([2 ** 63, 5, NaN, -(2 ** 63)]), lo: new Float64Array([-1, 0, 0, 0]) },
        new Float64Array([0.1, 0.2, 0.3, -0]),
      ],
    };
    const accumulators = [
      countAccumulator.create(buffer, -1, undefined),
      countAccumulator.create(buffer, 0, 'number'),
      sumAccumulator.create(buffer, 0, 'number'), // overflows into the BigInt form
      sumAccumulator.create(buffer, 3, 'number'), // partials
      sumAccumulator.create(buffer, 2, 'int64'),
      distinctAccumulator.create(buffer, 0, 'number'),
      distinctAccumulator.create(buffer, 1, 'text'),
      distinctAccumulator.create(buffer, 2, 'int64'), // beyond 2^53: decimal text keys
      minAccumulator.create(buffer, 1, 'text'),
      maxAccumulator.create(buffer, 2, 'int64'), // a bigint
      minAccumulator.create(buffer, 0, 'number'),
      lastAccumulator.create(buffer, 0, 'number'),
      lastAccumulator.create(buffer, 1, 'text'),
      latestRowAccumulator.create(buffer, 2, 'int64'),
      latestRowAccumulator.create(buffer, 3, 'number'),
    ];
    for (const a of accumulators) a.addRange(0, 4);
    const empty = lastAccumulator.create({ ts: new Float64Array(0), columns: [new Float64Array(0)] }, 0, 'number');
    const base: (BaseState | null)[] = [...accumulators, empty].map((a, s) => ({ state: a.snapshot(), ts: s * 1.5 }));
    base.push(null, { state: { odd: [undefined, true, false, -0, 2 ** 31, 'k'], ['__proto__']: 1 }, ts: 0 });
    const decoded = roundTrip({ horizon: 10, base, ts: new Float64Array(0), columns: [] });
    expect(decoded.base[2]!.state).toEqual({ n: 3, big: expect.any(String) });
    expect(typeof decoded.base[9]!.state).toBe('bigint');
    accumulators.forEach((a, s) => {
      a.restore(decoded.base[s]!.state);
      expect(a.snapshot()).toEqual(base[s]!.state);
    });
    expect(Object.getPrototypeOf(decoded.base.at(-1)!.state)).toBe(Object.prototype);
  });

  test('random states round-trip bit for bit', () => {
    const float = fc.oneof(fc.double(), fc.constantFrom(NaN, negativeNaN, -0));
    const state = fc.integer({ min: 0, max: 40 }).chain((n) => {
      const floats = fc.array(float, { minLength: n, maxLength: n }).map((xs) => new Float64Array(xs));
      const text = fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 8 }).chain((dict) =>
        fc.array(fc.integer({ min: -1, max: dict.length - 1 }), { minLength: n, maxLength: n }).map((codes): TextColumn => ({ dict, codes: new Int32Array(codes) })));
      const int64 = fc.tuple(floats, fc.option(floats)).map(([hi, lo]): Int64Column => ({ hi, lo }));
      const element = fc.oneof(fc.float({ noNaN: true }), fc.double({ noNaN: true }), fc.string(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
      const lists = fc.array(fc.option(fc.oneof(fc.array(fc.float({ noNaN: true })), fc.array(element))), { minLength: n, maxLength: n }).map((l) => ({ lists: l }));
      const column = fc.oneof(floats, text, int64, lists);
      const plain = fc.oneof(fc.double(), fc.bigInt(), fc.string(), fc.constant(null), fc.array(fc.oneof(fc.integer(), fc.string())), fc.array(fc.float(), { minLength: 7, maxLength: 20 }));
      const baseState = fc.option(fc.record({ state: plain, ts: fc.double() }));
      return fc.record({ horizon: fc.double(), base: fc.array(baseState, { maxLength: 4 }), ts: floats, columns: fc.array(column, { maxLength: 4 }) });
    });
    fc.assert(fc.property(state, (s) => void roundTrip(s)), { numRuns: 300 });
  });

  test('a stored text column gives each code its string on its own (before and after the whole dictionary), ASCII or not', () => {
    const dict = fc.array(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), { minLength: 1, maxLength: 12 });
    fc.assert(fc.property(dict, fc.integer({ min: 0, max: 3 }), (strings, pad) => {
      const codes = Int32Array.from(strings.map((_, i) => i));
      const stored = () => decodeEntityState(encodeEntityState({ horizon: 0, base: [], ts: new Float64Array(codes.length + pad).fill(1), columns: [{ dict: strings, codes: Int32Array.from([...codes, ...new Array<number>(pad).fill(-1)]) }] })).columns[0] as TextColumn;
      // Each code read first on a fresh column (no dictionary decoded yet), in every order.
      for (let i = strings.length - 1; i >= 0; i--) expect(stored().textOf!(i)).toBe(strings[i]);
      const column = stored();
      for (let i = 0; i < strings.length; i++) expect(column.textOf!(i)).toBe(strings[i]);
      expect(column.dict).toEqual(strings);
      for (let i = 0; i < strings.length; i++) expect(column.textOf!(i)).toBe(strings[i]);
    }), { numRuns: 300 });
  });

  test('vectors and lists: float32 values keep every bit (4 bytes each), float64, strings and int64 elements exact, nulls', () => {
    const vector = Array.from(Float32Array.from([0.1, -0, 3.4028234663852886e38, 1e-45, -7.5]));
    const lists = [vector, null, [0.1, 1e300], ['a', '😀', ''], [9007199254740993n, 1, -5], []];
    const decoded = roundTrip({ horizon: 0, base: [], ts: new Float64Array(lists.length), columns: [{ lists }] });
    const out = (decoded.columns[0] as { lists: unknown[] }).lists;
    expect(out).toEqual(lists);
    expect(Object.is((out[0] as number[])[1], -0)).toBe(true);
    const float32Bytes = encodeEntityState({ horizon: 0, base: [], ts: new Float64Array(1), columns: [{ lists: [Array.from(new Float32Array(768).fill(0.5))] }] }).length;
    expect(float32Bytes).toBeLessThan(768 * 4 + 64);
    // A vector in a base snapshot (last() before the horizon) is 4 bytes a value too.
    const base = { state: { value: vector.concat(vector, vector), ts: 5 }, ts: 5 };
    const withBase = roundTrip({ horizon: 0, base: [base], ts: new Float64Array(0), columns: [] });
    expect((withBase.base[0]!.state as { value: number[] }).value).toEqual(base.state.value);
    expect(encodeEntityState({ horizon: 0, base: [{ state: { value: Array.from(new Float32Array(768).fill(0.1)), ts: 0 }, ts: 0 }], ts: new Float64Array(0), columns: [] }).length).toBeLessThan(768 * 4 + 64);
  });

  test('a column whose length is not the number of events is refused when written', () => {
    expect(() => encodeEntityState({ horizon: 0, base: [], ts: new Float64Array(2), columns: [new Float64Array(1)] })).toThrow(/one value per event/);
    expect(() => encodeEntityState({ horizon: 0, base: [], ts: new Float64Array(1), columns: [{ hi: new Float64Array(1), lo: new Float64Array(2) }] })).toThrow(/one value per event/);
  });

  test('bytes that are not in this layout are refused with a message naming the fix', () => {
    expect(() => decodeEntityState(new Uint8Array(32))).toThrow(/rematerialize/);
  });
});
