import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { literal, literalList } from '../../storage/engine/sql-engine.js';
import { impliedStatus, servingLogDir, STATUS_CODES, STATUS_OF_CODE, type ServedRow } from './served-row.js';

export interface ServingLogQuery {
  /** One service's rows (`_features` for feature-list requests); default every service. */
  readonly service?: string;
  /** Rows served at or after this time (epoch ms). */
  readonly since?: number;
  /** Rows served before this time (epoch ms). */
  readonly until?: number;
}

const HOUR_MS = 3_600_000;

/**
 * The glob of the serving log's files, for DuckDB:
 * `SELECT * FROM read_json('<glob>', format = 'newline_delimited', ignore_errors = true) WHERE entityKey IS NOT NULL`
 * (`ignore_errors` reads a torn line as a row of nulls, which the filter drops).
 *
 * @example
 * servingLogGlob('.sluice', 'fraud_v1'); // '.sluice/serving-log/fraud_v1/*.jsonl'
 */
export function servingLogGlob(dataDir: string, service?: string): string {
  return join(servingLogDir(dataDir, service ?? '*'), '*.jsonl');
}

const VALUE_NAMES = '_sluice_value_names';
const VALUE_LIST = '_sluice_value_list';

/**
 * The row lines of `files` as a DuckDB relation, set-based: `json` (the line, a JSON object with
 * `entityKey`, `servedAt`, `values`), the names of its values in order (a compact row's from the
 * names line its `columns` id refers to, joined by id: the id is a hash of the names, the same in
 * every file) and a compact row's values as a list (for `servedValueSql` and `servedStatusSql`);
 * names, request and torn lines are left out. Old, lean and compact lines alike; the files are
 * read once.
 *
 * @example
 * `SELECT ${servedValueSql('txn__count_7d')} FROM ${servedRowsSql(files)}`
 */
export function servedRowsSql(files: readonly string[]): string {
  const lines = '_sluice_log_lines';
  const columns = '_sluice_log_columns';
  const isRow = (table: string) => `json_extract_string(${table}.json, '$.entityKey') IS NOT NULL`;
  return `(WITH ${lines} AS MATERIALIZED (SELECT json FROM read_ndjson_objects(${literalList(files)}, ignore_errors = true)),
    ${columns} AS (SELECT json_extract_string(json, '$.columns') AS id, any_value(json_extract_string(json, '$.names[*]')) AS names FROM ${lines}
      WHERE NOT ${isRow(lines)} AND json_extract_string(json, '$.columns') IS NOT NULL GROUP BY 1)
    SELECT ${lines}.json, CASE WHEN json_extract_string(${lines}.json, '$.columns') IS NULL THEN json_keys(${lines}.json, '$.values') ELSE ${columns}.names END AS ${VALUE_NAMES},
      CASE WHEN ${columns}.names IS NOT NULL THEN json_extract(${lines}.json, '$.values[*]') END AS ${VALUE_LIST}
    FROM ${lines} LEFT JOIN ${columns} ON ${columns}.id = json_extract_string(${lines}.json, '$.columns') WHERE ${isRow(lines)})`;
}

/** SQL over `servedRowsSql`: the value of `feature` in a row as text (as `json_extract_string` gives it), NULL when the row has none. */
export function servedValueSql(feature: string): string {
  return `CASE WHEN ${VALUE_LIST} IS NULL THEN json_extract_string(json, ${literal(`$.values."${feature}"`)}) ELSE json_extract_string(${VALUE_LIST}[list_position(${VALUE_NAMES}, ${literal(feature)})], '$') END`;
}

/**
 * SQL over `servedRowsSql`: the status of `feature` in a row (`PRESENT`, ...), NULL when the row has
 * no value for it; a compact row without `status` has the one its value implies (NULL for null, else PRESENT).
 */
export function servedStatusSql(feature: string): string {
  const position = `list_position(${VALUE_NAMES}, ${literal(feature)})`;
  const status = `json_extract_string(json, '$.status')`;
  const letter = `substr(${status}, ${position}, 1)`;
  const decode = Object.entries(STATUS_CODES).map(([name, code]) => `WHEN ${literal(code)} THEN ${literal(name)}`).join(' ');
  const implied = `CASE WHEN ${VALUE_LIST} IS NULL OR ${status} IS NOT NULL OR ${position} IS NULL THEN NULL WHEN json_type(${VALUE_LIST}[${position}]) = 'NULL' THEN ${literal(impliedStatus(true))} ELSE ${literal(impliedStatus(false))} END`;
  return `coalesce(json_extract_string(json, ${literal(`$.statuses."${feature}"`)}), CASE ${letter} ${decode} END, ${implied})`;
}

/** Served rows read at a time by default: a few hundred MB of parsed rows at most for wide services. */
export const SERVED_ROWS_PER_BATCH = 100_000;

/** Served rows of one service, in log order, and the lines among them that could not be read. */
export interface ServedRowBatch {
  readonly service: string;
  readonly rows: ServedRow[];
  /** Lines skipped as unreadable (a torn last line after a crash, or not a served row). */
  readonly unreadable: number;
}

async function entries(dir: string, directories = false): Promise<string[]> {
  try {
    const found = await readdir(dir, { withFileTypes: true });
    return found.filter((e) => !directories || e.isDirectory()).map((e) => e.name).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** What a log line is: a served row, a request line (the parts its rows share), or not a whole record. */
export type ServedLogLine =
  /** `columns`: the id of the names line a compact row's values are read by. */
  | { readonly kind: 'row'; readonly row: ServedRow; readonly columns?: string }
  | { readonly kind: 'request'; readonly requestId: string }
  | { readonly kind: 'columns'; readonly id: string }
  | { readonly kind: 'unreadable' };

type Json = Record<string, unknown>;
/** `joinKeys`: the request line's (since 2026-11-30 (10)), the key of its row lines without `keys`. */
type RequestParts = Pick<ServedRow, 'requestId' | 'service' | 'asOf' | 'servedAt' | 'views'> & { readonly joinKeys?: readonly string[] };

const UNREADABLE: ServedLogLine = { kind: 'unreadable' };
/** Request lines remembered per file: a row follows its request line in the same append, so only recent ones are needed. */
const REMEMBERED_REQUESTS = 4_096;
/** Names lines remembered per file: one per list of features (a service's, or a feature list's) and id. */
const REMEMBERED_COLUMNS = 1_024;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));

/**
 * A lean or compact row line (`status` letters, its request parts on its request line) as a
 * served row: lean `values` by name, compact `values` by position in the names of `columns`. A
 * compact row without `status` has the statuses its values imply: NULL for null, PRESENT for any other.
 * A row line without `requestId` (compact, since 2026-11-30) has its request line's.
 */
function leanRow(line: Json, request: RequestParts | undefined, columns: readonly string[] | undefined): ServedRow | undefined {
  const { status } = line;
  if (request === undefined || typeof line.servedAt !== 'number') return undefined;
  // Without `keys` (compact, one join key): the key's value is the entity key's text.
  const keys = line.keys === undefined && columns !== undefined && request.joinKeys?.length === 1 ? { [request.joinKeys[0]!]: line.entityKey } : line.keys;
  if (!isObject(keys)) return undefined;
  if (typeof status !== 'string' && (status !== undefined || columns === undefined)) return undefined;
  let values = line.values;
  if (Array.isArray(values)) {
    const list = values;
    if (columns === undefined || columns.length !== list.length) return undefined;
    values = Object.fromEntries(columns.map((name, i) => [name, list[i]]));
  } else if (columns !== undefined) return undefined;
  if (!isObject(values)) return undefined;
  const names = columns ?? Object.keys(values);
  const statuses: Record<string, string> = {};
  if (status === undefined) {
    for (const name of names) statuses[name] = impliedStatus((values as Json)[name] === null);
  } else {
    if (names.length !== status.length) return undefined;
    for (let i = 0; i < names.length; i++) {
      const decoded = STATUS_OF_CODE.get(status[i]!);
      if (decoded === undefined) return undefined;
      statuses[names[i]!] = decoded;
    }
  }
  return {
    requestId: request.requestId, service: request.service, entityKey: line.entityKey as string, keys,
    asOf: request.asOf, servedAt: line.servedAt, values, statuses, views: request.views,
  };
}

/** A line of the format written before the lean one: a whole `ServedRow`. */
function wholeRow(line: Json): ServedRow | undefined {
  const valid = isTime(line.asOf) && typeof line.servedAt === 'number' && isObject(line.values) && isObject(line.statuses) && isObject(line.views);
  return valid ? (line as unknown as ServedRow) : undefined;
}

/**
 * The reader of one log file's lines, in file order: every line format of `served-row.ts` (the
 * compact names, request and row lines, the lean request and row lines, and the whole rows
 * written before) read as `ServedRow`s. A row line whose request line (or, compact, names line)
 * is not before it in the file (a compact row line without `requestId`: not the last request line
 * before it, with the same `servedAt`, and no names line or unparsable line between them), a torn line, or anything that is not a record of the log is
 * `unreadable`. Every reader of the log (the batched reader below, the
 * purges of erasure and retention) reads lines through it.
 *
 * @example
 * const read = servedLogLines();
 * for (const line of text.split('\n')) if (line !== '') console.log(read(line).kind);
 */
export function servedLogLines(): (line: string) => ServedLogLine {
  const requests = new Map<string, RequestParts>();
  const columns = new Map<string, readonly string[]>();
  // The request line the rows after it belong to: a compact row line without `requestId` is its request's. A line that
  // does not parse, a names line (an append writes its names before its request lines) or a broken request line ends it.
  let current: RequestParts | undefined;
  return (text) => {
    let line: unknown;
    try {
      line = JSON.parse(text);
    } catch {
      current = undefined;
      return UNREADABLE;
    }
    if (!isObject(line)) {
      current = undefined;
      return UNREADABLE;
    }
    if (typeof line.entityKey === 'string') {
      const id = line.columns;
      const names = typeof id === 'string' ? columns.get(id) : undefined;
      if (id !== undefined && names === undefined) return UNREADABLE;
      const lean = typeof line.status === 'string' || typeof id === 'string';
      // A row without `requestId` must carry its request's `servedAt` too: a check that it follows its own request line.
      const request = typeof line.requestId === 'string' ? requests.get(line.requestId)
        : line.requestId === undefined && typeof id === 'string' && current?.servedAt === line.servedAt ? current : undefined;
      const row = !lean ? wholeRow(line) : leanRow(line, request, names);
      return row === undefined ? UNREADABLE : typeof id === 'string' ? { kind: 'row', row, columns: id } : { kind: 'row', row };
    }
    current = undefined;
    if (typeof line.columns === 'string' && line.requestId === undefined) {
      const names = line.names;
      if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) return UNREADABLE;
      if (!columns.has(line.columns) && columns.size >= REMEMBERED_COLUMNS) columns.delete(columns.keys().next().value!);
      columns.set(line.columns, names as string[]);
      return { kind: 'columns', id: line.columns };
    }
    if (typeof line.requestId !== 'string' || typeof line.service !== 'string' || !isTime(line.asOf) || typeof line.servedAt !== 'number' || !isObject(line.views)) return UNREADABLE;
    if (requests.size >= REMEMBERED_REQUESTS) requests.delete(requests.keys().next().value!);
    const { joinKeys } = line;
    const keys = Array.isArray(joinKeys) && joinKeys.every((k) => typeof k === 'string') ? { joinKeys: joinKeys as string[] } : {};
    current = { requestId: line.requestId, service: line.service, asOf: line.asOf, servedAt: line.servedAt, views: line.views as ServedRow['views'], ...keys };
    requests.set(line.requestId, current);
    return { kind: 'request', requestId: line.requestId };
  };
}

/**
 * The log files that may hold rows served in `[since, until)`: those of the hours the range
 * touches, by service then hour. Every reader of the log goes through it (the batched reader
 * below, drift's set-based DuckDB scan).
 *
 * @example
 * const files = await servingLogFiles('.sluice', { service: 'fraud_v1', since: Date.now() - 86_400_000 });
 */
export async function servingLogFiles(dataDir: string, query: ServingLogQuery = {}): Promise<string[]> {
  return (await servingLogFilesByService(dataDir, query)).flatMap(([, files]) => files);
}

async function servingLogFilesByService(dataDir: string, query: ServingLogQuery): Promise<[string, string[]][]> {
  const since = query.since ?? Number.NEGATIVE_INFINITY;
  const until = query.until ?? Number.POSITIVE_INFINITY;
  const services = query.service === undefined ? await entries(servingLogDir(dataDir), true) : [query.service];
  const byService: [string, string[]][] = [];
  for (const service of services) {
    const dir = servingLogDir(dataDir, service);
    const files: string[] = [];
    for (const name of await entries(dir)) {
      if (!name.endsWith('.jsonl')) continue;
      const hour = Date.parse(`${name.slice(0, -'.jsonl'.length)}:00:00.000Z`);
      if (!Number.isNaN(hour) && hour + HOUR_MS > since && hour < until) files.push(join(dir, name));
    }
    byService.push([service, files]);
  }
  return byService;
}

/** A file's lines, a 1 MiB chunk of whole lines at a time (a line-by-line reader costs more than the parsing). */
async function* lineChunks(path: string): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop()!;
    yield parts;
  }
  if (rest !== '') yield [rest];
}

/**
 * Reads the serving log in bounded batches: the rows served in `[since, until)` (of
 * `query.service`, or every service), service by service and file by file in time order, about
 * `batchRows` rows a batch (a 1 MiB chunk of lines more at most; a batch never mixes services).
 * Only the files of the hours the range touches are opened, and they are streamed, so memory
 * stays bounded whatever their size. A line that is not a whole record (a torn last line after a
 * crash) is skipped and counted.
 *
 * @example
 * for await (const { service, rows } of servedRowBatches(ctx.dataDir, { until: Date.now() })) console.log(service, rows.length);
 */
export async function* servedRowBatches(dataDir: string, query: ServingLogQuery = {}, batchRows = SERVED_ROWS_PER_BATCH): AsyncGenerator<ServedRowBatch> {
  const since = query.since ?? Number.NEGATIVE_INFINITY;
  const until = query.until ?? Number.POSITIVE_INFINITY;
  for (const [service, files] of await servingLogFilesByService(dataDir, query)) {
    let rows: ServedRow[] = [];
    let unreadable = 0;
    for (const file of files) {
      const read = servedLogLines();
      for await (const chunk of lineChunks(file)) {
        for (const text of chunk) {
          if (text.trim() === '') continue;
          const line = read(text);
          if (line.kind === 'unreadable') unreadable++;
          else if (line.kind === 'row' && line.row.servedAt >= since && line.row.servedAt < until) rows.push(line.row);
        }
        if (rows.length >= batchRows) {
          yield { service, rows, unreadable };
          rows = [];
          unreadable = 0;
        }
      }
    }
    if (rows.length > 0 || unreadable > 0) yield { service, rows, unreadable };
  }
}

/**
 * The served rows of the log (see `served-row.ts`), in file order (by service, then hour, then
 * append order), served in `[since, until)`: every batch of `servedRowBatches` at once.
 *
 * @example
 * const rows = await readServingLog(platform.dataDir, { service: 'fraud_v1', since: Date.now() - 86_400_000 });
 */
export async function readServingLog(dataDir: string, query: ServingLogQuery = {}): Promise<ServedRow[]> {
  const rows: ServedRow[] = [];
  for await (const batch of servedRowBatches(dataDir, query)) for (const row of batch.rows) rows.push(row);
  return rows;
}
