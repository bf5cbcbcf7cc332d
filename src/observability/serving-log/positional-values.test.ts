import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { copyValue, positionalCopy, positionalNames, positionalReadEnd, type PositionalNames } from './positional-values.js';
import { impliedStatus } from './served-row.js';

/** `positionalCopy` in place over `bytes[from, end)`, which must hold the object and nothing after it. */
function positionalValues(bytes: Uint8Array, from: number, end: number, names: PositionalNames): number {
  const w = positionalCopy(bytes, from, end, bytes, from, names);
  return w >= 0 && positionalReadEnd(names, from, from, w) === end ? w : -1;
}

/**
 * The features' part of a row's text (`"<name>":<value>,...}`) copied as `positionalCopy` does, or
 * undefined when it refuses: in place, and from a buffer with bytes before and after it into another at an offset.
 */
function positional(row: Record<string, unknown>, names: readonly string[]): string | undefined {
  const text = JSON.stringify(row).slice(1);
  const copyNames = positionalNames(names);
  const bytes = Buffer.from(text);
  const end = positionalValues(bytes, 0, bytes.length, copyNames);
  const source = Buffer.from(`xx${text},{"k":1}`);
  const dest = Buffer.alloc(source.length + 3, 0x2a);
  // The statuses the values imply (NULL for a JSON null, PRESENT for any other), and the same with one changed.
  const implied = names.map((n) => impliedStatus(JSON.stringify(row[n] ?? null) === 'null'));
  const to = positionalCopy(source, 2, source.length, dest, 3, copyNames, implied);
  expect(to < 0 ? -1 : positionalReadEnd(copyNames, 2, 3, to)).toBe(end < 0 ? -1 : 2 + bytes.length);
  if (end < 0) return undefined;
  expect(copyNames.implied).toBe(true);
  for (const other of implied.map((s, i) => implied.map((t, j) => (j !== i ? t : s === 'NULL' ? 'PRESENT' : 'NULL')))) {
    expect(positionalCopy(source, 2, source.length, dest, 3, copyNames, other)).toBe(to);
    expect(copyNames.implied).toBe(false);
  }
  expect(positionalCopy(source, 2, source.length, dest, 3, copyNames, [...implied, 'NULL'])).toBe(to);
  expect(copyNames.implied).toBe(false);
  expect(positionalCopy(source, 2, source.length, dest, 3, copyNames)).toBe(to);
  expect(copyNames.implied).toBe(false);
  expect(dest.toString('utf8', 3, to)).toBe(bytes.toString('utf8', 0, end));
  return bytes.toString('utf8', 0, end);
}

const scalar = fc.oneof(fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
const value = fc.oneof(scalar, fc.array(fc.oneof(fc.double(), fc.string({ unit: 'binary' }), fc.constant(null)), { maxLength: 4 }));

describe('positionalCopy', () => {
  test('the values by position are exactly the JSON of the values, whatever the values and names (unicode, quotes, escapes, lists)', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1 }).map((s) => `v__${s}`), { minLength: 1, maxLength: 8 }), fc.array(value, { minLength: 8, maxLength: 8 }), (names, values) => {
      const row = Object.fromEntries(names.map((n, i) => [n, values[i]]));
      expect(positional(row, names)).toBe(JSON.stringify(names.map((n) => row[n])));
    }), { numRuns: 500 });
  });

  test('values that look like names stay values: a string holding `","x":` or starting with a colon, a list of such strings', () => {
    const row = { 'a__x': '","a__y":', 'a__y': [':b', '",":', 'c'], 'a__z': '\\":' };
    expect(positional(row, ['a__x', 'a__y', 'a__z'])).toBe(JSON.stringify(Object.values(row)));
  });

  test('refuses a row not laid out with exactly the names: one missing, one more, another length, bytes after the end', () => {
    expect(positional({ a__x: 1, a__yy: 2 }, ['a__x', 'a__yy', 'a__z'])).toBeUndefined();
    expect(positional({ a__x: 1, a__yy: 2, a__z: 3 }, ['a__x', 'a__yy'])).toBeUndefined();
    expect(positional({ a__x: 1, a__yy: 2 }, ['a__x', 'a__y'])).toBeUndefined();
    expect(positional({ a__x: 1 }, [])).toBeUndefined();
    const bytes = Buffer.from('"a__x":1}x');
    expect(positionalValues(bytes, 0, bytes.length, positionalNames(['a__x']))).toBe(-1);
    expect(positional({ a__x: '' as unknown }, ['a__x'])).toBe('[""]');
    const empty = Buffer.from('"a__x":}');
    expect(positionalValues(empty, 0, empty.length, positionalNames(['a__x']))).toBe(-1);
  });
});

describe('copyValue', () => {
  test('copies one value byte for byte: the bytes read are the bytes written', () => {
    fc.assert(fc.property(value, (v) => {
      const text = `${JSON.stringify(v)},`;
      const source = Buffer.from(`x${text}`);
      const dest = Buffer.alloc(source.length + 2, 0x2a);
      const w = copyValue(source, 1, source.length, dest, 2);
      expect(dest.toString('utf8', 2, w)).toBe(JSON.stringify(v));
      expect(source[1 + w - 2]).toBe(0x2c);
    }), { numRuns: 300 });
  });

  test('refuses a value that does not end before the end it is given, and an empty scalar', () => {
    for (const text of ['"open', '[1,2', '12', ',', '}']) expect(copyValue(Buffer.from(text), 0, text.length, Buffer.alloc(8), 0)).toBe(-1);
  });

  test('stops at the end it is given, not at the end of the buffer', () => {
    const bytes = Buffer.from('"a__x":"open');
    expect(positionalValues(bytes, 0, bytes.length, positionalNames(['a__x']))).toBe(-1);
    const list = Buffer.from('"a__x":[1,2');
    expect(positionalValues(list, 0, list.length, positionalNames(['a__x']))).toBe(-1);
    const number = Buffer.from('"a__x":12');
    expect(positionalValues(number, 0, number.length, positionalNames(['a__x']))).toBe(-1);
  });
});
