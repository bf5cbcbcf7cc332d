/** The column of a streamed query's end marker (reserved prefix: no source column can take it): `streamChunks` adds it, or a sorted query carries it (`withSortedStreamEnd`). */
export const STREAM_END = '_sluice_stream_end';

/**
 * A query's rows followed by one end-marker row: every column of `sql` as it is, then
 * {@link STREAM_END}, false on the query's rows and true on the one row after them (its other
 * columns NULL). With `preserve_insertion_order` on (DuckDB's default, which Sluice never turns
 * off), UNION ALL keeps its inputs' order and runs the marker's input only once the query's has
 * finished, so the marker comes last, after the query's rows in their order; a result that fails
 * mid-way (which `@duckdb/node-api` ends like an exhausted one) ends without it. Takes one
 * SELECT (or FROM-first or VALUES) statement; a final `;` is dropped.
 *
 * @example
 * withStreamEnd('SELECT i FROM range(3) t(i) ORDER BY i DESC;');
 * // "SELECT *, false AS _sluice_stream_end FROM (\nSELECT i FROM range(3) t(i) ORDER BY i DESC\n) UNION ALL BY NAME SELECT true AS _sluice_stream_end"
 */
export function withStreamEnd(sql: string): string {
  // The line breaks keep a final `--` comment from taking the closing parenthesis.
  return markedRows(withoutFinalSemicolon(sql), '');
}

/** `sql`'s rows with {@link STREAM_END} false, then one row of `markerColumns` (each followed by a comma) and it true. */
function markedRows(sql: string, markerColumns: string): string {
  return `SELECT *, false AS ${STREAM_END} FROM (\n${sql}\n) UNION ALL BY NAME SELECT ${markerColumns}true AS ${STREAM_END}`;
}

/**
 * A sorted query that carries its own end marker, for `streamChunks(sql, { carriesEndMarker: true })`:
 * the rows of `rows` with {@link STREAM_END} false and one marker row with it true, sorted by
 * `orderBy` (named as `rows` outputs its columns), the marker riding the sort: one row more to
 * sort instead of `withStreamEnd`'s union after the sort (~50-100 ns of DuckDB CPU per row).
 * `markerRow` gives the marker row's sort keys values that sort after every row's (its other
 * columns are NULL): say `'Infinity'::DOUBLE` for a first key of finite, non-NULL doubles
 * (ascending, NULLs last: a NULL or NaN key sorts after it). Not NULL: a NULL key makes DuckDB
 * sort every row on wider keys; nor the marker as a first sort key: that doubles the sort's CPU
 * (`bench/stream-end-sorted-cost.js`). A marker that does not sort last makes the stream raise
 * (a row after the marker), never end short.
 *
 * @example
 * withSortedStreamEnd('SELECT k, t FROM ev', 'k, t', "'Infinity'::DOUBLE AS k");
 * // "SELECT * FROM (SELECT *, false AS _sluice_stream_end FROM (\nSELECT k, t FROM ev\n) UNION ALL BY NAME SELECT 'Infinity'::DOUBLE AS k, true AS _sluice_stream_end) ORDER BY k, t"
 */
export function withSortedStreamEnd(rows: string, orderBy: string, markerRow: string): string {
  return `SELECT * FROM (${markedRows(rows, `${markerRow}, `)}) ORDER BY ${orderBy}`;
}

/**
 * `sql` without the `;` that ends it, if any: the last character outside strings, quoted names
 * and comments (`'...'`, `E'...'`, `"..."`, `$tag$...$tag$`, `-- ...`, nested `/* ... *\/`).
 */
export function withoutFinalSemicolon(sql: string): string {
  let last = -1;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        const pair = sql.slice(i, i + 2);
        depth += pair === '/*' ? 1 : pair === '*/' ? -1 : 0;
        i += pair === '/*' || pair === '*/' ? 2 : 1;
      }
    } else if (c === "'" || c === '"') {
      const backslashes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      i++;
      while (i < n) {
        if (backslashes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      last = i++;
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64))?.[0];
      const end = tag === undefined ? -1 : sql.indexOf(tag, i + tag.length);
      last = end < 0 ? i : end + tag!.length - 1;
      i = last + 1;
    } else {
      if (!/\s/.test(c)) last = i;
      i++;
    }
  }
  return last >= 0 && sql[last] === ';' ? sql.slice(0, last) + sql.slice(last + 1) : sql;
}
