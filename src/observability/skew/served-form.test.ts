import { describe, expect, test } from 'vitest';
import { absoluteDifference, servedForm, servedJson } from './served-form.js';

describe('servedForm: values compared as the server answers them', () => {
  test('int64 is exact and compares the same whether a number, a bigint or a decimal string', () => {
    expect(servedForm(9007199254740993n, 'int64')).toBe('"9007199254740993"');
    expect(servedForm('9007199254740993', 'int64')).toBe(servedForm(9007199254740993n, 'int64'));
    expect(servedForm('9007199254740993', 'int64')).not.toBe(servedForm(9007199254740992n, 'int64'));
    expect(servedForm(42, 'int64')).toBe(servedForm('42', 'int64'));
    expect(servedForm(-(2n ** 63n), 'int64')).toBe('"-9223372036854775808"');
  });

  test('float64 bit for bit: 0.1 + 0.2 is not 0.3, the smallest step apart is a mismatch', () => {
    expect(servedForm(0.1 + 0.2, 'float64')).not.toBe(servedForm(0.3, 'float64'));
    expect(servedForm(1, 'float64')).not.toBe(servedForm(1 + Number.EPSILON, 'float64'));
    expect(servedForm(1e16 + 2, 'float64')).toBe(servedForm(10000000000000002, 'float64'));
  });

  test('JSON rules of every answer: NaN and ±Infinity are null, -0 is 0', () => {
    expect(servedJson(Number.NaN, 'float64')).toBeNull();
    expect(servedJson(Infinity, 'float64')).toBeNull();
    expect(servedForm(-0, 'float64')).toBe(servedForm(0, 'float64'));
    expect(servedForm(null, 'float64')).toBe('null');
    expect(servedForm(undefined, 'string')).toBe('null');
  });

  test('timestamps as ISO-8601 with ms (epoch ms offline, text online); lists element by element', () => {
    const t = Date.parse('1969-12-31T23:59:59.999Z');
    expect(servedForm(t, 'timestamp')).toBe(servedForm('1969-12-31T23:59:59.999Z', 'timestamp'));
    expect(servedForm([1, 9007199254740993n], 'int64[]')).toBe(servedForm(['1', '9007199254740993'], 'int64[]'));
    expect(servedForm([0.10000000149011612], 'float32[1]')).toBe('[0.10000000149011612]');
    expect(servedForm(['a', 'b'], 'string[]')).not.toBe(servedForm(['b', 'a'], 'string[]'));
    expect(servedForm(true, 'bool')).not.toBe(servedForm(false, 'bool'));
  });

  test('absolute differences: int64 subtracted exactly, nulls have none', () => {
    expect(absoluteDifference('9007199254740993', 9007199254740992n, 'int64')).toBe(1);
    expect(absoluteDifference(2.5, 1, 'float64')).toBe(1.5);
    expect(absoluteDifference(null, 1, 'float64')).toBeUndefined();
  });
});
