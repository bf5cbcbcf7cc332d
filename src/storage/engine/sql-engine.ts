/** A chunk of a query result, column by column: `column(i).get(row)` (null for NULL). */
export interface ColumnChunk {
  readonly rowCount: number;
  column(index: number): { get(row: number): unknown };
}

/** A column to append: `bigint` values are exact integers (JS numbers), `text` values strings or null. */
export type AppendColumn =
  | { readonly type: 'bigint'; readonly values: readonly number[] }
  | { readonly type: 'text'; readonly values: readonly (string | null)[] };

/**
 * The set-based engine that bulk work runs on. One in-process DuckDB per process, in memory,
 * reading the lake's Parquet files directly; it holds no state of its own between commands, so
 * a CLI and a server can run at the same time.
 */
export interface SqlEngine {
  /** Runs statements that return nothing. */
  run(sql: string): Promise<void>;
  /** Runs a query and returns its rows as plain objects (BIGINT as number where exact). */
  all<Row = Record<string, unknown>>(sql: string): Promise<Row[]>;
  /** Runs a query and yields its result in columnar chunks, without building a row object per row. */
  streamChunks(sql: string): AsyncIterable<ColumnChunk>;
  /** Appends rows to a table of DOUBLE columns, one Float64Array per column; NaN is NULL. */
  appendDoubles(table: string, columns: readonly Float64Array[]): Promise<void>;
  /** Appends rows of text values (null for SQL NULL) to an existing table of VARCHAR columns. */
  appendText(table: string, rows: readonly (readonly (string | null)[])[]): Promise<void>;
  /** Appends rows, column by column, to an existing table whose columns are BIGINT or VARCHAR as `columns` say. */
  appendColumns(table: string, columns: readonly AppendColumn[]): Promise<void>;
  close(): Promise<void>;
}

/** Quotes an identifier for SQL. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for SQL. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A SQL list of string literals: `['a', 'b']`. */
export function literalList(values: readonly string[]): string {
  return `[${values.map(literal).join(', ')}]`;
}
