import { afterAll, beforeAll, expect, test } from 'vitest';
import { durationMs, isoInstant, timeOrAgo } from './options.js';

// `--since`/`--until` read a time as request views and spines do (`parseTimestampText`): text
// without an offset is UTC, whatever the time zone of the shell that runs `sluice`.
const previousTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'America/New_York';
});
afterAll(() => {
  if (previousTz === undefined) delete process.env.TZ;
  else process.env.TZ = previousTz;
});

test('a time without an offset is UTC, not the local time of the process', () => {
  expect(new Date(2026, 10, 30).getTimezoneOffset()).toBe(300);
  expect(timeOrAgo('2026-11-30 10:00:00')).toEqual({ at: Date.UTC(2026, 10, 30, 10) });
  expect(timeOrAgo('2026-11-30T10:00:00')).toEqual({ at: Date.UTC(2026, 10, 30, 10) });
  expect(timeOrAgo('2026-11-30')).toEqual({ at: Date.UTC(2026, 10, 30) });
  expect(timeOrAgo('2026-11-30 10:00')).toEqual({ at: Date.UTC(2026, 10, 30, 10) });
  expect(timeOrAgo('2026-11-30T10:00:00+01')).toEqual({ at: Date.UTC(2026, 10, 30, 9) });
  expect(timeOrAgo('1969-12-31T23:59:59.9995Z')).toEqual({ at: -1 });
  expect(timeOrAgo('24h')).toEqual({ ago: 86_400_000 });
});

test('anything else is refused with the expected form', () => {
  for (const text of ['yesterday', '2026-02-30', '2026-11-30 10:00:00 America/New_York', 'Mon, 30 Nov 2026 10:00:00 GMT']) {
    expect(() => timeOrAgo(text)).toThrow(/ISO-8601/);
  }
});

test('backfill instants: one grammar with --since, an impossible date refused rather than rolled over', () => {
  expect(isoInstant('2026-01-31')).toBe(Date.UTC(2026, 0, 31));
  expect(isoInstant('2026-01-31T06:00:00')).toBe(Date.UTC(2026, 0, 31, 6));
  expect(isoInstant('2026-01-31 06:00')).toBe(Date.UTC(2026, 0, 31, 6));
  expect(isoInstant('2026-01-31T06:00:00+01')).toBe(Date.UTC(2026, 0, 31, 5));
  for (const text of ['2026-02-29', '2026-02-30', '2026-04-31T00:00:00Z', '24h', 'tomorrow']) expect(() => isoInstant(text)).toThrow(/ISO-8601/);
});

test('a duration option must be positive: --partition 0s or --timeout 0s is refused, saying so', () => {
  expect(durationMs('90s')).toBe(90_000);
  for (const text of ['0s', '0m', '0h']) expect(() => durationMs(text)).toThrow(`must be positive, such as 90s, 30m or 2h (got ${text}).`);
  expect(() => durationMs('soon')).toThrow('expected a duration such as 90s, 30m or 2h.');
});
