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

/**
 * The columns of its inputs that a transform's SQL may read: the input columns whose name occurs
 * in the SQL as a word (case-insensitively, as DuckDB compares names). An over-approximation, so
 * impact analysis never misses a dependent; table-level only (which output column reads it is not derived).
 */
export function mentionedColumns(sql: string, columns: readonly string[]): string[] {
  const words = new Set((sql.replace(/'(?:[^']|'')*'/g, "''").match(/[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*"/g) ?? []).map((w) => (w.startsWith('"') ? w.slice(1, -1).replace(/""/g, '"') : w).toLowerCase()));
  return columns.filter((c) => words.has(c.toLowerCase()));
}
