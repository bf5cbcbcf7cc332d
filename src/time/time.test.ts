import { describe, expect, test } from 'vitest';
import { formatDuration, inWindow, parseDuration, parseTimestamp, toIso, windowAt, windowPredicateSql, withinTtl } from './index.js';

describe('durations', () => {
  test.each([['90m', 5_400_000], ['7d', 604_800_000], ['250ms', 250], ['1h', 3_600_000], ['30s', 30_000]])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
  test.each(['', '7', 'd', '-1h', '0h', '1.5h', '1w', '7 days'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('timestamps', () => {
  test('naive ISO is UTC; offsets are honoured; sub-ms is truncated', () => {
    expect(parseTimestamp('2024-03-01T12:00:00')).toBe(Date.UTC(2024, 2, 1, 12));
    expect(parseTimestamp('2024-03-01 12:00:00')).toBe(Date.UTC(2024, 2, 1, 12));
    expect(parseTimestamp('2024-03-01T13:30:00+01:30')).toBe(Date.UTC(2024, 2, 1, 12));
    expect(parseTimestamp('2024-03-01T12:00:00.123456Z')).toBe(Date.UTC(2024, 2, 1, 12, 0, 0, 123));
    expect(parseTimestamp('2024-03-01')).toBe(Date.UTC(2024, 2, 1));
    expect(toIso(Date.UTC(2024, 2, 1, 12))).toBe('2024-03-01T12:00:00.000Z');
  });
  test.each(['2024-02-30T00:00:00', 'yesterday', '2024-03-01T25:00:00', ''])('rejects %j', (text) => expect(parseTimestamp(text)).toBeUndefined());
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
  test('the SQL predicate states the same bounds', () => {
    expect(windowPredicateSql('e._ts', 'p._t', 3_000)).toBe('e._ts < p._t AND e._ts >= p._t - 3000');
    expect(windowPredicateSql('e._ts', 'p._t', undefined)).toBe('e._ts < p._t');
  });
});
