/**
 * A chunk of a query result, column by column: `column(i).get(row)` (null for NULL). LIST and
 * ARRAY values are plain arrays, their BIGINT items numbers where exact (bigints beyond 2^53).
 */
export interface ColumnChunk {
  readonly rowCount: number;
  column(index: number): { get(row: number): unknown };
  /**
   * The values of a DOUBLE column, when none is NULL in this chunk, as one array to read (not
   * to keep past the next chunk, nor to write); undefined otherwise: read it with `column`.
   */
  doubles?(index: number): Float64Array | undefined;
}

/**
 * A column to append: `bigint` values are exact integers (JS numbers), `text` values strings or
 * null, `double` values a Float64Array with NaN for NULL, `list` values arrays (or null) of
 * `element` values (`FLOAT`: float32 values, widened; `BIGINT`: numbers or bigints).
 */
export type AppendColumn =
  | { readonly type: 'bigint'; readonly values: readonly number[] }
  | { readonly type: 'text'; readonly values: readonly (string | null)[] }
  | { readonly type: 'double'; readonly values: Float64Array }
  | { readonly type: 'list'; readonly element: 'FLOAT' | 'DOUBLE' | 'BIGINT' | 'VARCHAR'; readonly values: readonly (readonly unknown[] | null)[] };

/** Rows going into one table through one open appender (see `SqlEngine.openAppender`). */
export interface TableAppender {
  /** Appends the first `rows` rows (default: all) of `columns`, typed as for `appendColumns`; the same column types at every call. */
  append(columns: readonly AppendColumn[], rows?: number): void;
  /** Makes the rows appended visible and releases the appender; once only (later calls do nothing). */
  close(): Promise<void>;
}

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
  /**
   * Runs a query and yields its result in columnar chunks, without building a row object per row.
   * With `ownSession`, on a session of its own (closed when the stream ends): the main session
   * stays free for other statements meanwhile, and several such streams can run at once (a query
   * runs as soon as the first chunk is asked for, so a caller can start one ahead). Such a query
   * sees regular tables, not TEMP ones. Takes one query (a final `;` is allowed). A query that
   * fails after its first chunks (out of memory, a value that fails on a late row, `interrupt`)
   * raises `ADAPTER_FAILED` once the chunks before the failure are read: the stream never ends
   * as if its result were whole. With `carriesEndMarker`, the query yields its end marker itself
   * (built with `withSortedStreamEnd`: a sorted query, the marker riding its sort) instead of the
   * engine adding one after its rows; the marker is hidden and checked the same way.
   */
  streamChunks(sql: string, options?: { readonly ownSession?: boolean; readonly carriesEndMarker?: boolean }): AsyncIterable<ColumnChunk>;
  /** Appends rows of text values (null for SQL NULL) to an existing table of VARCHAR columns. */
  appendText(table: string, rows: readonly (readonly (string | null)[])[]): Promise<void>;
  /**
   * Appends the first `rows` rows (default: all) of `columns` to an existing table whose columns
   * are BIGINT, VARCHAR, DOUBLE or lists as `columns` say. With `whileStreaming`, it appends through a
   * session of its own, so a `streamChunks` result open on the main one is not cut short; the
   * table must then be a regular (not TEMP) table, which that session can see.
   */
  appendColumns(table: string, columns: readonly AppendColumn[], options?: { readonly rows?: number; readonly whileStreaming?: boolean }): Promise<void>;
  /**
   * An appender kept open over many `append` calls: one transaction when closed, instead of one
   * per call (a commit into a large table costs far more than the rows it adds). Rows are visible
   * to other statements only after `close`. `whileStreaming` as for `appendColumns`.
   */
  openAppender(table: string, options?: { readonly whileStreaming?: boolean }): Promise<TableAppender>;
  /**
   * Stops the statement running now, if any: it fails, and a stream open now raises (never ends
   * as if exhausted). Later statements run as usual.
   */
  interrupt(): void;
  close(): Promise<void>;
}

/**
 * Limits for an engine that runs untrusted SQL (a transform's): it may read and write only
 * `allowedPaths` (no other file, no ATTACH, no extension install or load), and its configuration
 * is locked, so no statement can lift the limits.
 */
export interface EngineSandbox {
  readonly allowedPaths: readonly string[];
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

/**
 * A file path for DuckDB's readers (`read_parquet`, `read_csv`, `read_json`), as a literal that
 * names exactly that file. The readers take every path as a glob, so `*`, `?` and `[` in a path
 * (a project in `/data/run[1]/`, a file named `a*.csv`) would read other files, or none; each is
 * written as a one-character class (`[*]`, `[?]`, `[[]`). Not for paths DuckDB writes (`COPY ...
 * TO`) or lists (`allowed_paths`): those are taken literally.
 *
 * @example
 * readPath('/data/run[1]/a.parquet'); // "'/data/run[[]1]/a.parquet'"
 */
export function readPath(path: string): string {
  return literal(globEscaped(path));
}

/** A path as a glob that matches only itself (see {@link readPath}); a sandbox allows a file under this name too. */
export function globEscaped(path: string): string {
  return path.replace(/[*?[]/g, (c) => `[${c}]`);
}

/** A SQL list of {@link readPath} literals, for a reader over several files. */
export function readPathList(paths: readonly string[]): string {
  return `[${paths.map(readPath).join(', ')}]`;
}
