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
