import fc from 'fast-check';
import { expect, test } from 'vitest';
import { ByteSink } from './answer-bytes.js';
import { dataViewOf, NUMBER_ROOM, packPieces, putNumber, putPiece } from './json-bytes.js';

function written(x: number): string {
  const sink = new ByteSink(4);
  sink.put('ab');
  sink.ensure(NUMBER_ROOM);
  putNumber(sink, x);
  return sink.bytes.subarray(2, sink.at).toString('latin1');
}

// Decimals as served values are (amounts in cents, their sums and averages), any double, and the
// edges: -0, NaN, infinities, 1e21, 5e-324, around 1e-6 and 1e15 (where String switches to
// exponents, and where the decimal writer gives up), 2^50 digits, halves, 0.1 + 0.2.
const decimal = fc.tuple(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.integer({ min: 0, max: 22 })).map(([k, d]) => k / 10 ** d);
const sums = fc.array(fc.integer({ min: 1, max: 100_000 }).map((c) => c / 100), { minLength: 1, maxLength: 40 }).chain((xs) => fc.constantFrom(xs.reduce((a, b) => a + b, 0), xs.reduce((a, b) => a + b, 0) / xs.length));
const number = fc.oneof(
  decimal, sums, fc.double(), fc.double({ min: 1e-7, max: 1e-5 }), fc.double({ min: 1e14, max: 1e16 }),
  fc.constantFrom(-0, NaN, Infinity, -Infinity, 1e21, 1e-7, 1e-6, 0.000001, 9.99999e-7, 1e15, 999999999999999.9, 5e-324, 2 ** 50 / 1e3, (2 ** 50 - 1) / 1e3, 0.5, 2.5, -1.5e-7, 0.1 + 0.2, 123456789.125, 82.14999999999999, 27.38333333333333),
);

test('a number is written as JSON.stringify writes it', () => {
  fc.assert(fc.property(number, (x) => {
    expect(written(x)).toBe(JSON.stringify(x));
  }), { numRuns: 20_000 });
});

test('every cent amount up to 10,000.00 and every thousandth below 10 is written as JSON.stringify writes it', () => {
  for (let c = -1_000_000; c <= 1_000_000; c++) {
    const x = c / 100;
    if (written(x) !== JSON.stringify(x)) expect(written(x)).toBe(JSON.stringify(x));
  }
  for (let m = 0; m <= 10_000; m++) {
    const x = m / 1000;
    if (written(x) !== JSON.stringify(x)) expect(written(x)).toBe(JSON.stringify(x));
  }
});

test('no number takes more than NUMBER_ROOM bytes, the room every writer makes for one', () => {
  const longest = ['-0.0000019370195483709653', '-1.7976931348623157e+308', '-2.2250738585072014e-308', '-5e-324', '-9007199254740991'];
  for (const text of longest) expect(written(Number(text)).length).toBeLessThanOrEqual(NUMBER_ROOM);
  expect(Math.max(...longest.map((t) => JSON.stringify(Number(t)).length))).toBe(NUMBER_ROOM);
  fc.assert(fc.property(fc.double(), (x) => JSON.stringify(x).length <= NUMBER_ROOM), { numRuns: 20_000 });
});

test('packed pieces written one after another, at any offset, are their bytes in order; nothing before the first is touched', () => {
  const pieces = fc.array(fc.uint8Array({ maxLength: 11 }), { maxLength: 12 });
  fc.assert(fc.property(pieces, fc.integer({ min: 0, max: 9 }), fc.array(fc.nat(12), { maxLength: 20 }), (list, offset, order) => {
    const packed = packPieces(list);
    const chosen = list.length === 0 ? [] : order.map((i) => i % list.length);
    const expected = Buffer.concat(chosen.map((p) => list[p]!));
    // Room for the 3 bytes a piece may store past its end.
    const out = Buffer.alloc(offset + expected.length + 3, 0xee);
    let at = offset;
    for (const p of chosen) at = putPiece(dataViewOf(out), packed, p, at);
    expect(at).toBe(offset + expected.length);
    expect(out.subarray(offset, at)).toEqual(expected);
    expect(out.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
  }), { numRuns: 500 });
});
