import { parseTimestampSql } from './timestamp.js';

/**
 * The timestamp texts a request value (and a `--since`/`--until` option) may be, one grammar for
 * JavaScript and DuckDB's RE2 alike: ISO-8601 with a four-digit year (or a sign and six digits, as
 * `toIso` writes years outside 0000-9999), a date alone (midnight), or a date, `T` or a space and
 * `hh:mm` or `hh:mm:ss` (`24:00:00` is midnight of the next day), up to nine fractional digits of a
 * second, and an
 * optional offset `Z`, `+hh`, `+hhmm` or `+hh:mm`. Without an offset it is UTC.
 */
const GRAMMAR =
  '([0-9]{4}|[+-][0-9]{6})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' +
  '(?:[T ](?:([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(?:[.]([0-9]{1,9}))?)?|(24):(00)(?::(00)(?:[.](0{1,9}))?)?)' +
  '(Z|([+-])([01][0-9]|2[0-3])(?::?([0-5][0-9]))?)?)?';
const TIMESTAMP_TEXT = new RegExp(`^${GRAMMAR}$`);
const DAY_MS = 86_400_000;
/** The range of a JavaScript `Date` (and so of `toIso`), in epoch ms either side of 1970. */
const LIMIT_MS = 8.64e15;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether `day` (from 1) exists in `month` (1-12) of `year`, proleptic Gregorian: 2024-02-29 does, 2026-02-29 does not. */
export function isCalendarDay(year: number, month: number, day: number): boolean {
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0);
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's `days_from_civil`): no `Date`, so no time zone. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
}

/**
 * A timestamp text of the request grammar (above) as UTC epoch ms, or `undefined` when it is not
 * one (an impossible date such as `2024-02-30` included). Digits finer than a millisecond are
 * floored: a time is never moved later, before 1970 as after it. Exactly what
 * {@link parseTimestampTextSql} gives for the same text in DuckDB, whatever the process's time zone.
 *
 * @example
 * parseTimestampText('2024-03-01 12:00:00'); // Date.UTC(2024, 2, 1, 12)
 * parseTimestampText('1969-12-31T23:59:59.9995Z'); // -1
 */
export function parseTimestampText(text: string): number | undefined {
  const m = TIMESTAMP_TEXT.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (!isCalendarDay(year, month, day)) return undefined;
  const hour = Number(m[4] ?? m[8] ?? 0);
  const minute = Number(m[5] ?? 0);
  const second = Number(m[6] ?? 0);
  const milli = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  const offsetMinutes = m[13] === undefined ? 0 : (m[13] === '-' ? -1 : 1) * (Number(m[14]) * 60 + Number(m[15] ?? 0));
  const ms = daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + milli;
  return Math.abs(ms) <= LIMIT_MS ? ms : undefined;
}

/**
 * The SQL expression giving what {@link parseTimestampText} gives, for DuckDB: NULL for a text
 * outside the grammar, else the epoch ms {@link parseTimestampSql} reads (floored), within the
 * range of a JavaScript `Date`.
 *
 * @example
 * parseTimestampTextSql('s."at"');
 */
export function parseTimestampTextSql(expr: string): string {
  // DuckDB reads `hh:mm` without seconds only when no offset follows: the seconds are written in first.
  const withSeconds = `regexp_replace(CAST(${expr} AS VARCHAR), '^([^T ]*[T ][0-9]{2}:[0-9]{2})([^:0-9]|$)', '\\1:00\\2')`;
  const ms = parseTimestampSql(withSeconds);
  return `CASE WHEN regexp_full_match(CAST(${expr} AS VARCHAR), '${GRAMMAR}') AND abs(${ms}) <= ${LIMIT_MS} THEN ${ms} END`;
}
