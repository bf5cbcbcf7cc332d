/**
 * The one float64 text rule, for JavaScript and DuckDB alike: decimal number text as JSON would
 * write a number, with an optional `+`, a bare `1.` or `.5`, and an exponent `e`/`E` (`12.5`,
 * `-3`, `4e1`); nothing else (no spaces, `1_000`, `0x10`, `inf`, `NaN`). Its value is the double
 * nearest the text (both engines round correctly), a negative zero is 0, and a text past the
 * float64 range is none. File ingest reads a float64 cell by it, and a request value written as
 * text (a `--request` argument, a CSV spine cell) is read by it.
 */
export const FLOAT64_TEXT_PATTERN = '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?';

const FLOAT64_TEXT = new RegExp(`^(?:${FLOAT64_TEXT_PATTERN})$`);

/**
 * The double a float64 text gives, or `undefined` when it is not one (see {@link FLOAT64_TEXT_PATTERN}).
 *
 * @example
 * parseFloat64Text('1e3'); // 1000
 * parseFloat64Text(' 1.5'); // undefined
 */
export function parseFloat64Text(text: string): number | undefined {
  if (!FLOAT64_TEXT.test(text)) return undefined;
  const value = Number(text);
  // + 0 turns -0 into 0, as every float64 is held (see `float64TextSql`).
  return Number.isFinite(value) ? value + 0 : undefined;
}

/**
 * The SQL of what {@link parseFloat64Text} gives for the text expression `text`: a DOUBLE, or
 * NULL. DuckDB's own cast also reads `" 1.5"`, `1_000` and `inf`: only the rule's texts are read.
 *
 * @example
 * float64TextSql('"amount"'); // a DOUBLE, NULL for '1_000'
 */
export function float64TextSql(text: string): string {
  return `(CASE WHEN regexp_full_match(${text}, '${FLOAT64_TEXT_PATTERN}') AND isfinite(TRY_CAST(${text} AS DOUBLE)) THEN TRY_CAST(${text} AS DOUBLE) + 0.0 END)`;
}
