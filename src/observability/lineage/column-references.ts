/**
 * The columns a compiled expression reads (`FeatureView.derived[].sql`, `FeatureView.filter`):
 * compiled SQL quotes every column as an identifier, so the quoted names that are columns of the
 * row are what it reads; string literals are skipped first, so a quote inside one is not a column.
 *
 * @example
 * columnReferences('TRY(CAST(("amount" * coalesce("fx_rate", 1.0)) AS DOUBLE))', ['amount', 'fx_rate', 'ts']); // ['amount', 'fx_rate']
 */
export function columnReferences(sql: string, columns: readonly string[]): string[] {
  const byLower = new Map(columns.map((c) => [c.toLowerCase(), c]));
  const found = new Set<string>();
  for (const match of sql.replace(/'(?:[^']|'')*'/g, "''").matchAll(/"((?:[^"]|"")*)"/g)) {
    const column = byLower.get(match[1]!.replace(/""/g, '"').toLowerCase());
    if (column !== undefined) found.add(column);
  }
  return [...found];
}
