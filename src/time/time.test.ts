import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import { eventRange, formatDuration, inWindow, parseDuration, parseTimestampSql, toIso, windowAt, windowPredicateSql, withinTtl } from './index.js';

describe('durations', () => {
  test.each([['90m', 5_400_000], ['7d', 604_800_000], ['250ms', 250], ['1h', 3_600_000], ['30s', 30_000]])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
  test.each(['', '7', 'd', '-1h', '0h', '1.5h', '1w', '7 days'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('timestamps', () => {
  test('ISO-8601: naive is UTC, offsets are honoured, sub-ms is truncated, anything else is NULL', async () => {
    const engine = await duckDbEngine({ threads: 1 });
    try {
      const cases: Array<[string, number | null]> = [
        ['2024-03-01T12:00:00', Date.UTC(2024, 2, 1, 12)],
        ['2024-03-01 12:00:00', Date.UTC(2024, 2, 1, 12)],
        ['2024-03-01T12:00:00Z', Date.UTC(2024, 2, 1, 12)],
        ['2024-03-01T13:30:00+01:30', Date.UTC(2024, 2, 1, 12)],
        ['2024-03-01T12:00:00.123456Z', Date.UTC(2024, 2, 1, 12, 0, 0, 123)],
        ['2024-03-01', Date.UTC(2024, 2, 1)],
        ['2024-02-30T00:00:00', null],
        ['yesterday', null],
        ['2024-03-01T25:00:00', null],
        ['', null],
      ];
      const rows = await engine.all<{ v: number | null }>(
        `SELECT ${parseTimestampSql('x')} AS v FROM (VALUES ${cases.map(([text], i) => `(${i}, '${text}')`).join(', ')}) t(i, x) ORDER BY i`,
      );
      expect(rows.map((r) => r.v)).toEqual(cases.map(([, ms]) => ms));
      const [typed] = await engine.all<{ v: number }>(`SELECT ${parseTimestampSql("TIMESTAMP '2024-03-01 12:00:00.5'")} AS v`);
      expect(typed!.v).toBe(Date.UTC(2024, 2, 1, 12, 0, 0, 500));
    } finally {
      await engine.close();
    }
    expect(toIso(Date.UTC(2024, 2, 1, 12))).toBe('2024-03-01T12:00:00.000Z');
  });
});

describe('windows are half-open [t - W, t)', () => {
  test('edges', () => {
    const w = windowAt(10_000, 3_000);
    expect(inWindow(7_000, w)).toBe(true);
    expect(inWindow(6_999, w)).toBe(false);
    expect(inWindow(9_999, w)).toBe(true);
    expect(inWindow(10_000, w)).toBe(false);
    expect(inWindow(-1e15, windowAt(10_000, undefined))).toBe(true);
  });
  test('ttl keeps rows with ts >= t - ttl', () => {
    expect(withinTtl(7_000, 10_000, 3_000)).toBe(true);
    expect(withinTtl(6_999, 10_000, 3_000)).toBe(false);
    expect(withinTtl(0, 10_000, undefined)).toBe(true);
  });
  test('eventRange finds the events of a window in sorted times, ties included', () => {
    const times = new Float64Array([5, 7, 7, 9, 10, 10]);
    expect(eventRange(times, windowAt(10, 3))).toEqual([1, 4]);
    expect(eventRange(times, windowAt(11, 1))).toEqual([4, 6]);
    expect(eventRange(times, windowAt(10, undefined))).toEqual([0, 4]);
    expect(eventRange(times, windowAt(5, 100))).toEqual([0, 0]);
    expect(eventRange(new Float64Array(0), windowAt(5, 1))).toEqual([0, 0]);
  });
  test('the SQL predicate states the same bounds', () => {
    expect(windowPredicateSql('e._ts', 'p._t', 3_000)).toBe('e._ts < p._t AND e._ts >= p._t - 3000');
    expect(windowPredicateSql('e._ts', 'p._t', undefined)).toBe('e._ts < p._t');
  });
});

const DAY = 86_400_000;

describe('toIso', () => {
  test('is Date#toISOString, byte for byte, over every time a Date holds (fast path and the rest)', () => {
    const maxMs = 8.64e15;
    const times = fc.oneof(
      fc.integer({ min: -62_167_219_200_000 - DAY, max: 253_402_300_800_000 + DAY }),
      fc.integer({ min: -maxMs, max: maxMs }),
      fc.integer({ min: -4 * DAY, max: 4 * DAY }),
      fc.double({ min: -maxMs, max: maxMs, noNaN: true }),
      fc.constantFrom(0, -0, -1, 1, -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000, maxMs, -maxMs, Date.UTC(2000, 1, 29), Date.UTC(1900, 1, 28, 23, 59, 59, 999), Date.UTC(2100, 2, 1)),
    );
    fc.assert(fc.property(times, (ms) => {
      expect(toIso(ms)).toBe(new Date(ms).toISOString());
    }), { numRuns: 20_000 });
  });

  test('refuses what Date refuses: NaN and times beyond 8.64e15 ms', () => {
    for (const ms of [NaN, Infinity, 8.64e15 + 1]) expect(() => toIso(ms)).toThrow(RangeError);
  });
});
