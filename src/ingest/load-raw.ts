import type { Source } from '../definitions/index.js';
import { isSluiceError, ValidationError } from '../errors.js';
import { ident, literal, type SqlEngine } from '../storage/engine/sql-engine.js';
import { readCsvBatches, readJsonlBatches, type CsvHeader, type RecordBatch } from './read-records.js';

export type InputFormat = 'csv' | 'jsonl' | 'parquet';

/** The table `loadRaw` fills: `_line, _raw, _problem, <schema columns>`, all text but `_line`. */
export const RAW_TABLE = 'ingest_raw';
const LINES_TABLE = 'ingest_lines';

const BATCH_TABLE = 'ingest_batch';

/** A list of text values as one JSON array, or undefined when every value is null. */
const sparseJson = (values: readonly (string | null)[]): string | undefined => (values.some((v) => v !== null) ? JSON.stringify(values) : undefined);

/**
 * Streams record batches into DuckDB: a batch crosses as a handful of strings (a call per value
 * would cost more than all the rest of ingest), is unnested into a relation of lines named
 * `ingest_lines`, and `toRaw` (set-based SQL over it) turns those into rows of
 * {@link RAW_TABLE}. Memory holds one batch at a time.
 */
async function loadBatches(engine: SqlEngine, batches: AsyncIterable<RecordBatch>, toRaw: () => string): Promise<void> {
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${BATCH_TABLE} (_lines VARCHAR, _raws VARCHAR, _problems VARCHAR, _fields VARCHAR)`);
  for await (const batch of batches) {
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
      `unnest(from_json(_lines, '["BIGINT"]')) AS _line`,
      `${joinable ? 'unnest(string_split(_raws, chr(10)))' : list('_raws')} AS _raw`,
      `${problems === undefined ? 'NULL::VARCHAR' : list('_problems')} AS _problem`,
      `${fields === undefined ? 'NULL::VARCHAR' : list('_fields')} AS _fields`,
    ];
    await engine.run(`INSERT INTO ${RAW_TABLE} WITH ${LINES_TABLE} AS (SELECT ${lines.join(', ')} FROM ${BATCH_TABLE}) ${toRaw()}; DELETE FROM ${BATCH_TABLE}`);
  }
  await engine.run(`DROP TABLE ${BATCH_TABLE}`);
}

/** CSV records to columns, set-based: split at commas (or, for records with quotes, the fields the reader found). */
function csvColumnsSql(header: CsvHeader): string {
  const fields = `CASE WHEN _fields IS NULL THEN string_split(_raw, ',') ELSE from_json(_fields, '["VARCHAR"]') END`;
  const problem = `coalesce(_problem, CASE WHEN len(_f) <> ${header.width} THEN 'expected ${header.width} fields, found ' || len(_f) END)`;
  const values = header.positions.map((p, i) => `nullif(_f[${p + 1}], '') AS c${i}`);
  return `SELECT _line, _raw, ${problem}, ${values.join(', ')} FROM (SELECT *, ${fields} AS _f FROM ${LINES_TABLE})`;
}

/**
 * JSONL lines to columns, set-based: each line is parsed once by DuckDB's JSON reader, which
 * keeps a number's digits (9007199254740993 stays exact; JavaScript's JSON.parse would round it).
 */
function jsonColumnsSql(columns: readonly string[]): string {
  const paths = `[${columns.map((c) => literal(`$."${c}"`)).join(', ')}]`;
  const nested = columns.map((c, i) => `WHEN json_type(_v[${i + 1}]) IN ('OBJECT', 'ARRAY') THEN ${literal(`column "${c}": nested JSON value where a scalar is expected`)}`);
  const problem = `coalesce(_problem, CASE WHEN _v IS NULL AND NOT json_valid(_raw) THEN 'malformed JSON' WHEN _v IS NULL THEN 'not a JSON object' ${nested.join(' ')} END)`;
  const values = columns.map((c, i) => `CASE WHEN json_type(_v[${i + 1}]) NOT IN ('OBJECT', 'ARRAY') THEN json_extract_string(_v[${i + 1}], '$') END AS ${ident(c)}`);
  const parsed = `CASE WHEN _problem IS NULL AND json_valid(_raw) AND json_type(_raw) = 'OBJECT' THEN json_extract(_raw, ${paths}) END AS _v`;
  return `SELECT _line, _raw, ${problem} AS _problem, ${values.join(', ')} FROM (SELECT *, ${parsed} FROM ${LINES_TABLE})`;
}

/** A Parquet file DuckDB cannot read is the user's file to fix, not an adapter failure: say which and how. */
function unreadableParquet(path: string, error: unknown): never {
  const cause = isSluiceError(error) && error.cause instanceof Error ? error.cause.message : String(error);
  const reason = cause.split('\n')[0]!.replace(/^[A-Za-z ]+Error: /, '');
  throw new ValidationError('VALIDATION_FAILED', `${path} is not a readable Parquet file (${reason}); re-export it, or copy it again if the transfer was cut short`, { cause: error });
}

async function loadParquet(engine: SqlEngine, source: Source, path: string): Promise<void> {
  const columns = Object.keys(source.schema);
  let present: Set<string>;
  try {
    present = new Set((await engine.all<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${literal(path)})`)).map((r) => r.column_name));
  } catch (error) {
    unreadableParquet(path, error);
  }
  const missing = columns.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new ValidationError('VALIDATION_FAILED', `${path}: the Parquet file lacks column(s) ${missing.map((m) => `"${m}"`).join(', ')} of source "${source.name}"`);
  }
  const cols = columns.map((c) => `CAST(${ident(c)} AS VARCHAR)`).join(', ');
  try {
    await engine.run(`INSERT INTO ${RAW_TABLE} SELECT row_number() OVER (), NULL, NULL, ${cols} FROM read_parquet(${literal(path)})`);
  } catch (error) {
    unreadableParquet(path, error);
  }
}

/**
 * Loads an input file into {@link RAW_TABLE}, streaming: CSV and JSONL pass through memory in
 * bounded batches of records, whose fields DuckDB parses (DuckDB holds the rows, within its
 * memory limit, spilling to disk beyond it); Parquet is read by DuckDB directly. `_problem` says why a record could not be read at all
 * (malformed, invalid UTF-8); such records are kept, to become dead letters.
 */
export async function loadRaw(engine: SqlEngine, source: Source, path: string, format: InputFormat, invalidUtf8: readonly number[]): Promise<void> {
  const columns = Object.keys(source.schema);
  const textColumns = columns.map((c) => `${ident(c)} VARCHAR`).join(', ');
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${RAW_TABLE} (_line BIGINT, _raw VARCHAR, _problem VARCHAR, ${textColumns})`);
  if (format === 'parquet') return loadParquet(engine, source, path);
  if (format === 'jsonl') return loadBatches(engine, readJsonlBatches(path, invalidUtf8), () => jsonColumnsSql(columns));
  let header: CsvHeader | undefined;
  return loadBatches(engine, readCsvBatches(path, columns, invalidUtf8, (h) => (header = h)), () => csvColumnsSql(header!));
}
