import { isListType, type ColumnType, type Source } from '../definitions/index.js';
import { isSluiceError, ValidationError } from '../errors.js';
import { ident, literal, literalList, type SqlEngine, readPath } from '../storage/engine/sql-engine.js';
import { casedKeySql } from './column-case.js';
import { readCsvBatches, readJsonlBatches, type CsvHeader, type RecordBatch } from './read-records.js';

export type InputFormat = 'csv' | 'jsonl' | 'parquet';

/**
 * The relation `loadRaw` makes: `_line, _raw, _problem, <schema columns>`, all text but
 * `_line`. A view: read it once (into a table), then {@link dropRaw}.
 */
export const RAW_TABLE = 'ingest_raw';
const LINES_TABLE = 'ingest_lines';
const PARQUET_TABLE = 'ingest_rows';
const BATCH_TABLE = 'ingest_batch';

/** A list of text values as one JSON array, or undefined when every value is null. */
const sparseJson = (values: readonly (string | null)[]): string | undefined => (values.some((v) => v !== null) ? JSON.stringify(values) : undefined);

/**
 * Streams record batches into the table of lines (`_line, _raw, _problem, _fields`): a batch
 * crosses into DuckDB as a handful of strings (a call per value would cost more than all the
 * rest of ingest) and is unnested there. Memory holds one batch at a time.
 */
async function loadLines(engine: SqlEngine, batches: AsyncIterable<RecordBatch>): Promise<void> {
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${LINES_TABLE} (_line BIGINT, _raw VARCHAR, _problem VARCHAR, _fields VARCHAR)`);
  for await (const batch of batches) {
    // A new table per batch: deleted rows would keep their memory until a checkpoint.
    await engine.run(`CREATE OR REPLACE TEMP TABLE ${BATCH_TABLE} (_lines VARCHAR, _raws VARCHAR, _problems VARCHAR, _fields VARCHAR)`);
    // Lines hold no line break unless a quoted CSV field does: then JSON keeps them apart.
    const joinable = !batch.raws.some((raw) => raw.includes('\n'));
    const problems = sparseJson(batch.problems);
    const fields = sparseJson(batch.fields);
    await engine.appendColumns(BATCH_TABLE, [
      { type: 'text', values: [JSON.stringify(batch.lines)] },
      { type: 'text', values: [joinable ? batch.raws.join('\n') : JSON.stringify(batch.raws)] },
      { type: 'text', values: [problems ?? null] },
      { type: 'text', values: [fields ?? null] },
    ]);
    const list = (column: string): string => `unnest(from_json(${column}, '["VARCHAR"]'))`;
    const lines = [
      `unnest(from_json(_lines, '["BIGINT"]'))`,
      joinable ? 'unnest(string_split(_raws, chr(10)))' : list('_raws'),
      problems === undefined ? 'NULL' : list('_problems'),
      fields === undefined ? 'NULL' : list('_fields'),
    ];
    await engine.run(`INSERT INTO ${LINES_TABLE} SELECT ${lines.join(', ')} FROM ${BATCH_TABLE}`);
  }
  await engine.run(`DROP TABLE IF EXISTS ${BATCH_TABLE}`);
}

/** CSV records to columns, set-based: split at commas (or, for records with quotes, the fields the reader found). */
function csvColumnsSql(header: CsvHeader, columns: readonly string[]): string {
  const fields = `CASE WHEN _fields IS NULL THEN string_split(_raw, ',') ELSE from_json(_fields, '["VARCHAR"]') END`;
  const problem = `coalesce(_problem, CASE WHEN len(_f) <> ${header.width} THEN 'expected ${header.width} fields, found ' || len(_f) END)`;
  const values = header.positions.map((p, i) => `nullif(_f[${p + 1}], '') AS ${ident(columns[i]!)}`);
  return `SELECT _line, _raw, ${problem} AS _problem, ${values.join(', ')} FROM (SELECT *, ${fields} AS _f FROM ${LINES_TABLE})`;
}

/**
 * JSONL lines to columns, set-based: each line is parsed once by DuckDB's JSON reader, which
 * keeps a number's digits (9007199254740993 stays exact; JavaScript's JSON.parse would round it).
 * Columns in `lists` (vectors and lists) must be JSON arrays, kept as their JSON text; any other
 * column must be a scalar.
 *
 * The rules on an object's keys (a column's key given twice, a key that differs from a column
 * only in case, `column-case.ts`) decide whether an input is accepted at the way in, and never
 * change how its values read. With `accepted` (events read again from the durable log, which
 * holds only events already acknowledged), they are not applied: an event replays as it was
 * accepted, also one a later rule would refuse, so online state rebuilt from the log, the lake
 * and materialize read the same events (see docs/real-time.md).
 */
export function jsonColumnsSql(columns: readonly string[], table: string = LINES_TABLE, lists: ReadonlySet<string> = new Set(), accepted = false): string {
  const path = (c: string): string => literal(`$."${c}"`);
  // A nested value comes back as its JSON text; only text that starts like one needs a second look.
  const isNested = (c: string, i: number): string => `CASE WHEN left(_v[${i + 1}], 1) IN ('[', '{') THEN json_type(_raw, ${path(c)}) IN ('OBJECT', 'ARRAY') END`;
  const nested = columns.map((c, i) =>
    lists.has(c)
      ? `WHEN json_type(_raw, ${path(c)}) NOT IN ('ARRAY', 'NULL') THEN ${literal(`column "${c}": a JSON `)} || lower(json_type(_raw, ${path(c)})) || ' where an array is expected'`
      : `WHEN ${isNested(c, i)} THEN ${literal(`column "${c}": nested JSON value where a scalar is expected`)}`,
  );
  // A mark is skipped at a file's start only (readers split records there): inside, name it, since a dead letter shows it as nothing.
  const unreadable = `CASE WHEN json_valid(_raw) THEN 'not a JSON object' WHEN starts_with(_raw, chr(65279)) THEN 'malformed JSON: the line starts with a byte order mark (U+FEFF), which only the start of a file may hold (were two files joined?)' ELSE 'malformed JSON' END`;
  const keyRules = accepted ? [] : [givenTwiceSql(columns), casedKeySql(columns, '_raw', '_v')];
  const problem = `coalesce(_problem, CASE WHEN _v IS NULL THEN ${unreadable} END, ${[...keyRules, `CASE ${nested.length > 0 ? nested.join(' ') : 'WHEN FALSE THEN NULL'} END`].join(', ')})`;
  const values = columns.map((c, i) => `_v[${i + 1}] AS ${ident(c)}`);
  const parsed = `CASE WHEN _problem IS NULL AND json_valid(_raw) AND json_type(_raw) = 'OBJECT' THEN json_extract_string(_raw, [${columns.map(path).join(', ')}]) END AS _v`;
  return `SELECT _line, _raw, ${problem} AS _problem, ${values.join(', ')} FROM (SELECT *, ${parsed} FROM ${table})`;
}

/**
 * Why a JSON object is refused for a schema column's key given twice (DuckDB would read its first
 * value, JavaScript its last): the one rule for every JSON input (JSONL files, pushed and streamed
 * events); NULL when none is. Listing the keys parses the text again (2-3x the extraction's CPU),
 * so it is done only where a key can be twice: one regular expression finds a column's quoted
 * name twice in the text, or the text has an escape (a name may be spelled with one).
 */
function givenTwiceSql(columns: readonly string[]): string {
  if (columns.length === 0) return 'NULL';
  const twice = columns.map((c) => { const q = `"${c}"`.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&'); return `${q}[\\s\\S]*${q}`; }).join('|');
  const keys = 'json_keys(_raw)';
  const first = `list_filter(${keys}, (k, i) -> list_position(${keys}, k) < i AND list_contains(${literalList(columns)}, k))[1]`;
  return `CASE WHEN (contains(_raw, '\\') OR regexp_matches(_raw, ${literal(twice)})) AND json_valid(_raw) THEN 'column "' || ${first} || '": the key is given twice (JSON gives a column one value)' END`;
}

/** The vector and list columns of a source: JSON arrays in JSON input. */
export function listColumns(source: Source): ReadonlySet<string> {
  return new Set(Object.keys(source.schema).filter((c) => isListType(source.schema[c]!)));
}

/** A Parquet file DuckDB cannot read is the user's file to fix, not an adapter failure: say which and how. */
function unreadableParquet(path: string, error: unknown): never {
  const cause = isSluiceError(error) && error.cause instanceof Error ? error.cause.message : String(error);
  const reason = cause.split('\n')[0]!.replace(/^[A-Za-z ]+Error: /, '');
  throw new ValidationError('VALIDATION_FAILED', `${path} is not a readable Parquet file (${reason}); re-export it, or copy it again if the transfer was cut short`, { cause: error });
}

/**
 * A Parquet value as the text ingest validates. A float holding a whole number below 2^53 (as
 * pandas writes an integer column with nulls) is that integer's digits for an int64 column;
 * any other float keeps its fraction or exponent, and is rejected there.
 */
function parquetText(column: string, parquetType: string, type: ColumnType): string {
  const c = ident(column);
  // A Parquet list (or array) as JSON array text, which list columns parse; anything else fails there.
  if (/\[[0-9]*\]$/.test(parquetType)) return `CAST(to_json(${c}) AS VARCHAR)`;
  if (type === 'int64' && (parquetType === 'DOUBLE' || parquetType === 'FLOAT')) {
    return `CASE WHEN ${c} = trunc(${c}) AND abs(${c}) <= 9007199254740992 THEN CAST(${c}::BIGINT AS VARCHAR) ELSE CAST(${c} AS VARCHAR) END`;
  }
  return `CAST(${c} AS VARCHAR)`;
}

async function loadParquet(engine: SqlEngine, source: Source, path: string): Promise<ReadonlyMap<string, string>> {
  const columns = Object.keys(source.schema);
  let present: Map<string, string>;
  try {
    present = new Map((await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${readPath(path)})`)).map((r) => [r.column_name, r.column_type]));
  } catch (error) {
    unreadableParquet(path, error);
  }
  const missing = columns.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new ValidationError('VALIDATION_FAILED', `${path}: the Parquet file lacks column(s) ${missing.map((m) => `"${m}"`).join(', ')} of source "${source.name}"`, { details: { missingColumns: missing } });
  }
  const cols = columns.map((c) => `${parquetText(c, present.get(c)!, source.schema[c]!)} AS ${ident(c)}`).join(', ');
  try {
    await engine.run(`CREATE OR REPLACE TEMP TABLE ${PARQUET_TABLE} AS SELECT row_number() OVER () AS _line, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _problem, ${cols} FROM read_parquet(${readPath(path)})`);
  } catch (error) {
    unreadableParquet(path, error);
  }
  return present;
}

/**
 * Makes {@link RAW_TABLE} from an input file, streaming: CSV and JSONL pass through memory in
 * bounded batches of records into a table of lines (DuckDB holds them, within its memory
 * limit, spilling to disk beyond it), whose fields DuckDB parses, in parallel, when the view
 * is read; Parquet is read by DuckDB directly. `_problem` says why a record could not be read
 * at all (malformed, invalid UTF-8); such records are kept, to become dead letters. Returns the
 * input's columns where the format gives them without another pass (CSV header, Parquet schema).
 */
export async function loadRaw(engine: SqlEngine, source: Source, path: string, format: InputFormat, invalidUtf8: readonly number[]): Promise<InputColumns | undefined> {
  const columns = Object.keys(source.schema);
  let select: string;
  let found: InputColumns | undefined;
  if (format === 'parquet') {
    found = Object.fromEntries(await loadParquet(engine, source, path));
    select = `SELECT * FROM ${PARQUET_TABLE}`;
  } else if (format === 'jsonl') {
    await loadLines(engine, readJsonlBatches(path, invalidUtf8));
    select = jsonColumnsSql(columns, LINES_TABLE, listColumns(source));
  } else {
    let header: CsvHeader | undefined;
    await loadLines(engine, readCsvBatches(path, columns, invalidUtf8, (h) => (header = h)));
    // A file with no header at all has no records either.
    select = header === undefined ? `SELECT _line, _raw, _problem, ${columns.map((c) => `NULL::VARCHAR AS ${ident(c)}`).join(', ')} FROM ${LINES_TABLE}` : csvColumnsSql(header, columns);
    const names = (header as CsvHeader | undefined)?.names;
    if (names) found = Object.fromEntries(names.map((n) => [n, null]));
  }
  await engine.run(`CREATE OR REPLACE TEMP VIEW ${RAW_TABLE} AS ${select}`);
  return found;
}

/** The columns an input file has: name to its type where the format says one (Parquet), else null. */
export type InputColumns = Readonly<Record<string, string | null>>;

/**
 * The columns of a JSONL input as its objects have them (every key some record has): read only
 * when a `schema` check asks, from {@link RAW_TABLE} before it is dropped.
 */
export async function jsonInputColumns(engine: SqlEngine): Promise<InputColumns> {
  const keys = await engine.all<{ k: string }>(`SELECT DISTINCT unnest(json_keys(_raw)) AS k FROM ${RAW_TABLE} WHERE _problem IS NULL AND json_valid(_raw) AND json_type(_raw) = 'OBJECT' ORDER BY k`);
  return Object.fromEntries(keys.map((r) => [r.k, null]));
}

/** Drops {@link RAW_TABLE} and what holds its rows. */
export async function dropRaw(engine: SqlEngine): Promise<void> {
  await engine.run(`DROP VIEW IF EXISTS ${RAW_TABLE}; DROP TABLE IF EXISTS ${BATCH_TABLE}; DROP TABLE IF EXISTS ${LINES_TABLE}; DROP TABLE IF EXISTS ${PARQUET_TABLE}`);
}

/**
 * Makes {@link RAW_TABLE} from batches of records that are each one JSON object (a connector's
 * rows, with the schema's column names), read exactly as JSONL lines are.
 */
export async function loadRawJson(engine: SqlEngine, source: Source, batches: AsyncIterable<RecordBatch>): Promise<void> {
  await loadLines(engine, batches);
  await engine.run(`CREATE OR REPLACE TEMP VIEW ${RAW_TABLE} AS ${jsonColumnsSql(Object.keys(source.schema), LINES_TABLE, listColumns(source))}`);
}
