import { int64CellSql, textCellSql } from '../../processing/request-features.js';
import { parseTimestampSql, parseTimestampTextSql, type EpochUnit } from '../../time/index.js';

/** The SQL types of a spine column that hold times as values (Parquet timestamps of every precision, with a zone or not, dates). */
const TIME_SQL_TYPES = new Set(['TIMESTAMP', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ', 'DATE']);

/**
 * The epoch count (HUGEINT, in the spine's unit) of a spine timestamp cell `cell` of SQL type
 * `sqlType`, or NULL when the cell is no integer: read as a request reads an int64
 * (`int64CellSql`): an integer column exactly, a whole number of a double or decimal column,
 * integer text by the int64 text rule (sign and digits, no spaces), a JSON value by its own JSON type.
 */
export function spineEpochSql(cell: string, sqlType: string): string {
  return `CAST(${int64CellSql(cell, sqlType)} AS HUGEINT)`;
}

/**
 * The one rule for every timestamp cell of a spine, whatever its physical type (CSV text,
 * JSONL values, Parquet columns): the spine's own timestamp column (in `unit`) and a request
 * view's timestamp field (in ms, as a request sends it) alike. Gives UTC epoch milliseconds or
 * NULL: an integer (`spineEpochSql`: an integer or whole-number column, integer text, a JSON
 * number) as a count of `unit` since the epoch, kept within the safe integers in ms (the sweep
 * holds times as doubles; finer units floored, so a time is never moved later); a SQL timestamp
 * or date by its value (`parseTimestampSql`); other text (a CSV cell, a JSON string) by the
 * request grammar (`parseTimestampTextSql`), as an online request's text is read. Anything else
 * (a boolean, a fraction, an object) is NULL.
 *
 * @example
 * spineTimestampSql('"ts"', 'VARCHAR', 'ms');
 */
export function spineTimestampSql(cell: string, sqlType: string, unit: EpochUnit): string {
  const integer = spineEpochSql(cell, sqlType);
  const d = unit === 'us' ? 1000 : 1_000_000;
  // Integer floor division (a DOUBLE division would round 1704067200123999999 ns up a millisecond).
  const floored = `(CASE WHEN ${integer} >= 0 THEN ${integer} // ${d} ELSE -((-${integer} + ${d - 1}) // ${d}) END)`;
  const scaled = unit === 's' ? `${integer} * 1000` : unit === 'ms' ? integer : floored;
  const epoch = `(CASE WHEN abs(${scaled}) <= ${Number.MAX_SAFE_INTEGER} THEN CAST(${scaled} AS BIGINT) END)`;
  if (TIME_SQL_TYPES.has(sqlType)) return parseTimestampSql(cell);
  const text = textCellSql(cell, sqlType);
  return text === undefined ? epoch : `coalesce(${epoch}, ${parseTimestampTextSql(text)})`;
}
