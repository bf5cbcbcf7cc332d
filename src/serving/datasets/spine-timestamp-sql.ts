import { int64TextSql } from '../../definitions/index.js';
import { parseTimestampSql, parseTimestampTextSql, type EpochUnit } from '../../time/index.js';

const INTEGER_TYPES = "'BIGINT', 'INTEGER', 'HUGEINT', 'UBIGINT', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'";

/**
 * The SQL expression that reads a spine's timestamp cell `expr` into UTC epoch milliseconds, or
 * NULL. Text (a CSV cell, a JSON string) follows the rules of a request view's timestamp field in
 * the same file (`requestValueSql`), so one spine reads one text one way: integer text by the
 * int64 text rule (`int64TextSql`: sign and digits, no spaces) as a count of `unit` since the
 * epoch, else the request grammar (`parseTimestampTextSql`). A typed value is read by its value:
 * an integer column as a count of `unit`, a SQL timestamp or date by `parseTimestampSql`. Finer
 * units are floored to the millisecond, so a time is never moved later. Epoch counts are kept
 * within the safe integers in ms, as a request's are (the sweep holds times as doubles).
 *
 * @example
 * parseTimestampOrEpochSql('"ts"', 'ms');
 */
export function parseTimestampOrEpochSql(expr: string, unit: EpochUnit): string {
  const isText = `typeof(${expr}) = 'VARCHAR'`;
  const integer = `(CASE WHEN typeof(${expr}) IN (${INTEGER_TYPES}) THEN TRY_CAST(${expr} AS HUGEINT) WHEN ${isText} THEN CAST(${int64TextSql(`CAST(${expr} AS VARCHAR)`)} AS HUGEINT) END)`;
  const d = unit === 'us' ? 1000 : 1_000_000;
  // Integer floor division (a DOUBLE division would round 1704067200123999999 ns up a millisecond).
  const floored = `(CASE WHEN ${integer} >= 0 THEN ${integer} // ${d} ELSE -((-${integer} + ${d - 1}) // ${d}) END)`;
  const scaled = unit === 's' ? `${integer} * 1000` : unit === 'ms' ? integer : floored;
  const epoch = `(CASE WHEN abs(${scaled}) <= ${Number.MAX_SAFE_INTEGER} THEN CAST(${scaled} AS BIGINT) END)`;
  const timestamp = `(CASE WHEN ${isText} THEN ${parseTimestampTextSql(`CAST(${expr} AS VARCHAR)`)} ELSE ${parseTimestampSql(expr)} END)`;
  return `coalesce(${epoch}, ${timestamp})`;
}
