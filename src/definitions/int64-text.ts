/**
 * The one int64 text rule, for JavaScript and DuckDB alike: an optional sign and decimal digits,
 * nothing else (no `1.5`, `7.0`, `1e3`, `0x10`, spaces), within -2^63 to 2^63-1. File ingest
 * reads an int64 cell by it, a request and a spine read an int64 (or integer timestamp) text by
 * it, and an int64 key part is normalized by it.
 */
export const INT64_TEXT_PATTERN = '[+-]?[0-9]+';

const INT64_TEXT = new RegExp(`^${INT64_TEXT_PATTERN}$`);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The int64 an int64 text gives, or `undefined` when it is not one (see {@link INT64_TEXT_PATTERN}).
 *
 * @example
 * parseInt64Text('+007'); // 7n
 * parseInt64Text('1e3'); // undefined
 */
export function parseInt64Text(text: string): bigint | undefined {
  if (!INT64_TEXT.test(text)) return undefined;
  // Leading zeros aside, an int64 has at most 19 digits: a longer text (a request body may hold
  // megabytes of digits) is out of range without being parsed, which takes time growing with it.
  if (text.length > 20 && text.replace(/^[+-]?0*/, '').length > 19) return undefined;
  const value = BigInt(text);
  return value >= INT64_MIN && value <= INT64_MAX ? value : undefined;
}

/**
 * The SQL of what {@link parseInt64Text} gives for the text expression `text`: a BIGINT, or NULL.
 * DuckDB's own cast rounds `1.5` and reads `1e3`, `0x10` and `" 7"`: only digits are read.
 *
 * @example
 * int64TextSql('"amount"'); // (CASE WHEN regexp_full_match("amount", '[+-]?[0-9]+') THEN TRY_CAST("amount" AS BIGINT) END)
 */
export function int64TextSql(text: string): string {
  return `(CASE WHEN regexp_full_match(${text}, '${INT64_TEXT_PATTERN}') THEN TRY_CAST(${text} AS BIGINT) END)`;
}
