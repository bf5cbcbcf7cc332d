/**
 * The SQL expression that parses a timestamp into UTC epoch milliseconds, for every set-based
 * reader (ingestion, spines). It accepts ISO-8601 text (`2024-03-01T12:00:00Z`, with an offset,
 * or "naive", which means UTC; a date alone is midnight UTC) and SQL timestamps (Parquet
 * `TIMESTAMP` is UTC). Finer precision than a millisecond is truncated. Anything else is NULL.
 * The engine session must be in UTC (the DuckDB engine sets it).
 *
 * @example
 * parseTimestampSql('"ts"'); // epoch_ms(TRY_CAST(CAST("ts" AS VARCHAR) AS TIMESTAMPTZ))
 */
export function parseTimestampSql(expr: string): string {
  return `epoch_ms(TRY_CAST(CAST(${expr} AS VARCHAR) AS TIMESTAMPTZ))`;
}

/** Formats epoch milliseconds as ISO-8601 UTC with milliseconds: `2024-03-01T12:00:00.000Z`. */
export function toIso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** Units an integer timestamp may be given in. */
export type EpochUnit = 's' | 'ms' | 'us' | 'ns';
export const EPOCH_UNITS: readonly EpochUnit[] = ['s', 'ms', 'us', 'ns'];

/**
 * The SQL expression that reads a timestamp given either as text/SQL timestamp (see
 * {@link parseTimestampSql}) or as an integer count of `unit` since the epoch (an integer column,
 * or integer text as CSV gives it), into UTC epoch milliseconds. Finer units are floored to the
 * millisecond, so a time is never moved later.
 */
export function parseTimestampOrEpochSql(expr: string, unit: EpochUnit): string {
  const integer = `TRY_CAST(CASE WHEN typeof(${expr}) IN ('BIGINT', 'INTEGER', 'HUGEINT', 'UBIGINT', 'SMALLINT', 'TINYINT', 'UINTEGER') THEN CAST(${expr} AS VARCHAR) ` +
    `WHEN regexp_full_match(trim(CAST(${expr} AS VARCHAR)), '[+-]?[0-9]+') THEN trim(CAST(${expr} AS VARCHAR)) END AS HUGEINT)`;
  const d = unit === 'us' ? 1000 : 1_000_000;
  // Integer floor division (a DOUBLE division would round 1704067200123999999 ns up a millisecond).
  const floored = `(CASE WHEN ${integer} >= 0 THEN ${integer} // ${d} ELSE -((-${integer} + ${d - 1}) // ${d}) END)`;
  const scaled = unit === 's' ? `${integer} * 1000` : unit === 'ms' ? integer : floored;
  return `coalesce(TRY_CAST(${scaled} AS BIGINT), ${parseTimestampSql(expr)})`;
}

/**
 * True for an epoch-millisecond value that reads more plausibly as epoch seconds (within about
 * three years of 1970 as milliseconds, but a date between 1973 and 5138 as seconds).
 */
export function looksLikeEpochSeconds(epochMs: number): boolean {
  return Math.abs(epochMs) < 100_000_000_000 && Math.abs(epochMs) >= 100_000_000;
}
