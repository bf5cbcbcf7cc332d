import fc from 'fast-check';
import { expect, test } from 'vitest';
import { ByteSink } from './answer-bytes.js';
import { putRows } from './row-bytes.js';
import { RowValueEnds } from './value-ends.js';

// Scalars and the awkward ones: -0, NaN, infinities (null in JSON), 1e21 and 5e-324 (exponents),
// integers near and beyond 2^53 and 2^32, strings JSON escapes (quotes, controls, DEL, lone
// surrogates, U+2028), non-ASCII, omitted values (undefined, functions, symbols), nested arrays
// and objects, a Date (toJSON).
const scalar = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.maxSafeInteger(), fc.string(), fc.boolean(), fc.constant(null)) },
  fc.constantFrom(-0, NaN, Infinity, -Infinity, 1e21, 5e-324, 2 ** 53, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 32, 4294967295.5, -1.5e-7, 0.1 + 0.2),
  fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }),
  fc.constantFrom('"', '\\', '\n', '\u007f', '\u0000', '\u001f', 'a\u001fb', '\u2028', '\ud800', 'a\udc00b', 'é€😀', 'x'.repeat(300), '2026-11-29T20:29:35.324Z'),
);
const odd = fc.oneof(
  fc.constantFrom(undefined, () => 1, Symbol('s'), new Date(0), { toJSON: () => 'j' }, { a: [1, { b: '\n' }] }, Object.assign(Object.create(null), { z: 1 })),
  fc.array(fc.oneof(fc.double(), fc.constant(null)), { maxLength: 4 }),
  fc.bigInt({ min: 2n ** 60n, max: 2n ** 62n }),
);
const value = fc.oneof({ weight: 20, arbitrary: scalar }, odd);
const keys = fc.uniqueArray(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('customer_id', 'txn__sum_7d', '7', '0', '__proto__', 'toJSON', 'a"b', 'é')), { minLength: 1, maxLength: 8 });

/** Rows with the keys `names`, in order (a key named __proto__ made an own property, as an object literal with a computed key does). */
function rowOf(names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  names.forEach((name, i) => Object.defineProperty(row, name, { value: values[i], enumerable: true, writable: true, configurable: true }));
  return row;
}

// Rows JSON.stringify writes otherwise than one with the first row's keys would be.
const reshaped = (names: readonly string[], values: readonly unknown[]) => fc.constantFrom(
  rowOf([...names].reverse(), values),
  rowOf([...names, 'extra'], [...values, 1]),
  rowOf(names.slice(1), values.slice(1)),
  rowOf(names.slice(0, -1), values.slice(0, -1)),
  Object.assign(rowOf(names, values), { toJSON: () => 'row' }),
  Object.setPrototypeOf(rowOf(names, values), null),
  Object.setPrototypeOf(rowOf(names, values), { inherited: 1 }),
  [values[0]], null, 7, 'row',
);

const rows = keys.chain((names) => fc.array(
  fc.array(value, { minLength: names.length, maxLength: names.length }).chain((values) => fc.oneof(
    { weight: 12, arbitrary: fc.constant(rowOf(names, values)) }, reshaped(names, values),
  )), { maxLength: 12 },
));

function written(rowsToWrite: readonly unknown[], size: number, before: string): { ok: boolean; text: string; at: number } | 'threw' {
  const sink = new ByteSink(size);
  sink.put(before);
  const at = sink.at;
  try {
    const ok = putRows(sink, rowsToWrite);
    return { ok, text: sink.bytes.subarray(at, sink.at).toString('utf8'), at: sink.at - at };
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return 'threw';
  }
}

test('rows are written byte for byte as JSON.stringify writes them, or given up with nothing written', () => {
  fc.assert(fc.property(rows, fc.integer({ min: 1, max: 4096 }), fc.string(), (generated, size, before) => {
    let expected: string | undefined;
    try {
      expected = JSON.stringify(generated);
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
    }
    const out = written(generated, size, before);
    if (out === 'threw') expect(expected).toBeUndefined();
    else if (out.ok) expect(out.text).toBe(expected);
    else expect(out.at).toBe(0);
  }), { numRuns: 1500 });
});

test('rows of one plain shape are written directly; a row that is not a plain object gives all of them up', () => {
  const plain = Array.from({ length: 50 }, (_, i) => ({ id: `c${i}`, n: i, x: i / 7, s: i % 2 ? 'é"' : 'ab', b: i % 3 === 0, z: null, gone: undefined }));
  const out = written(plain, 16, '');
  expect(out).toEqual({ ok: true, text: JSON.stringify(plain), at: Buffer.byteLength(JSON.stringify(plain)) });
  expect(written([...plain, [1]], 16, '')).toEqual({ ok: false, text: '', at: 0 });
  expect(written([], 16, '')).toEqual({ ok: false, text: '', at: 0 });
});

test('inherited enumerable keys (which for...in would list and JSON.stringify not) give the rows up', () => {
  const proto = Object.prototype as Record<string, unknown>;
  proto.polluted = 1;
  try {
    expect(written([{ a: 1 }, { a: 2 }], 16, '')).toEqual({ ok: false, text: '', at: 0 });
  } finally {
    delete proto.polluted;
  }
  expect(written([{ a: 1 }, { a: 2 }], 16, '')).toEqual({ ok: true, text: '[{"a":1},{"a":2}]', at: 17 });
});

test('a row value whose toJSON writes another answer\'s rows (other keys) leaves the room of the rows after it as it was', () => {
  const wide = Array.from({ length: 8 }, (_, k) => `key_${k}`);
  const inner = Array.from({ length: 10 }, (_, i) => ({ a: i }));
  const nested = { toJSON: () => (putRows(new ByteSink(16), inner), 'made') };
  const rows = Array.from({ length: 40 }, (_, r) => rowOf(wide, wide.map((_, k) => (r === 0 && k === 0 ? nested : `${'s'.repeat(24)}${r}_${k}`.slice(0, 30)))));
  const sink = new ByteSink(16);
  expect(putRows(sink, rows)).toBe(true);
  expect(sink.bytes.subarray(0, sink.at).toString()).toBe(JSON.stringify(rows));
});

test('the value ends recorded with the rows are where each value\'s JSON ends, after its key; rows written another way are marked so', () => {
  fc.assert(fc.property(rows, fc.string(), (generated, before) => {
    const sink = new ByteSink(16);
    sink.put(before);
    const ends = new RowValueEnds();
    let ok: boolean;
    try {
      ok = putRows(sink, generated, ends);
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      return;
    }
    expect(ends.rows).toBe(ok ? generated.length : 0);
    if (!ok) return;
    const bytes = sink.bytes;
    const keys = ends.keys;
    expect(keys).toEqual(Object.keys(generated[0] as object));
    generated.forEach((row, r) => {
      const start = ends.starts[r]!;
      // Recorded: every value of the row has its key's text before it, its JSON up to its end, then `,` or the row's `}`.
      const own = row as Record<string, unknown>;
      const sameKeys = Object.getPrototypeOf(row) === Object.prototype && JSON.stringify(Object.keys(own)) === JSON.stringify(keys);
      // A row of the first row's keys whose values are scalars is always recorded; one of other keys, or a key left out, never.
      const scalars = keys.every((k) => own[k] === null || ['number', 'string', 'boolean'].includes(typeof own[k]));
      if (start < 0) {
        expect(sameKeys && scalars).toBe(false);
        return;
      }
      expect(sameKeys && keys.every((k) => JSON.stringify(own[k]) !== undefined)).toBe(true);
      expect(bytes[start]).toBe(0x7b);
      let at = start + 1;
      keys.forEach((key, k) => {
        const head = Buffer.from(`${JSON.stringify(key)}:`);
        expect(bytes.subarray(at, at + head.length).equals(head)).toBe(true);
        const end = ends.valueEnd(r, k);
        expect(bytes.subarray(at + head.length, end).toString()).toBe(JSON.stringify(own[key]));
        expect(bytes[end]).toBe(k === keys.length - 1 ? 0x7d : 0x2c);
        at = end + 1;
      });
    });
  }), { numRuns: 1500 });
});

test('value ends: the rows given up (a row not a plain object) record none; a row with a key left out is marked', () => {
  const ends = new RowValueEnds();
  const plain = Array.from({ length: 50 }, (_v, i) => ({ id: `c${i}`, n: i / 7, gone: i === 3 ? undefined : 1 }));
  expect(putRows(new ByteSink(16), plain, ends)).toBe(true);
  expect([ends.rows, ends.starts[2]! >= 0, ends.starts[3], ends.keys]).toEqual([50, true, -1, ['id', 'n', 'gone']]);
  expect(putRows(new ByteSink(16), [...plain, [1]], ends)).toBe(false);
  expect(ends.rows).toBe(0);
});
