/**
 * Whether a file's first line is a header whose fields a message may list: it names at least one
 * of the `expected` columns (compared as DuckDB compares names, case-insensitively). A first line
 * naming none may be a data row (a file without a header): its fields are values, which may be
 * classified, and an error's text reaches run history, health conditions and alerts, which erasure
 * does not rewrite. The one rule for every message about a file's header: see {@link describeHeader}.
 *
 * @example
 * headerNamesColumns(['c6', 'eve@example.com'], ['customer_id', 'email']); // false
 */
export function headerNamesColumns(fields: readonly string[], expected: readonly string[]): boolean {
  const names = new Set(expected.map((c) => c.toLowerCase()));
  return fields.some((f) => names.has(f.trim().toLowerCase()));
}

/**
 * A file's first line as a message may show it: a header ({@link headerNamesColumns}) as its
 * column names, `header: a, b, c`; any other first line by its field count and the columns
 * expected, never its fields.
 *
 * @example
 * describeHeader(['c6', 'eve@example.com'], ['customer_id', 'email']);
 * // 'the first line is not a CSV header: it has 2 fields and names none of the columns expected (customer_id, email); its fields are not shown (they may be data): put a header line naming the columns first'
 */
export function describeHeader(fields: readonly string[], expected: readonly string[]): string {
  if (headerNamesColumns(fields, expected)) return `header: ${fields.join(', ')}`;
  return `the first line is not a CSV header: it has ${fields.length} field${fields.length === 1 ? '' : 's'} and names none of the columns expected (${expected.join(', ')}); its fields are not shown (they may be data): put a header line naming the columns first`;
}
