import { impliedStatus, STATUS_OF_CODE, type ServedRow } from './served-row.js';

/** What a log line is: a served row, a request line (the parts its rows share, and since 2026-11-30 (17) its rows), a names line, or not a whole record. */
export type ServedLogLine =
  /** `columns`: the id of the names line a compact row's values are read by. */
  | { readonly kind: 'row'; readonly row: ServedRow; readonly columns?: string }
  /**
   * `rows`: the rows the line itself holds, in order, `undefined` for one that does not read (none
   * on a request line written before 2026-11-30 (17), whose rows are row lines after it);
   * `columns`: the names line its rows refer to.
   */
  | { readonly kind: 'request'; readonly requestId: string; readonly rows: readonly (ServedRow | undefined)[]; readonly columns?: string }
  | { readonly kind: 'columns'; readonly id: string }
  | { readonly kind: 'unreadable' };

type Json = Record<string, unknown>;
/** `joinKeys`: the request line's (since 2026-11-30 (10)), the key of its rows without `keys`. */
type RequestParts = Pick<ServedRow, 'requestId' | 'service' | 'asOf' | 'servedAt' | 'views'> & { readonly joinKeys?: readonly string[] };

const UNREADABLE: ServedLogLine = { kind: 'unreadable' };
/** Request lines remembered per file: a row follows its request line in the same append, so only recent ones are needed. */
const REMEMBERED_REQUESTS = 4_096;
/** Names lines remembered per file: one per list of features (a service's, or a feature list's) and id. */
const REMEMBERED_COLUMNS = 1_024;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));

/**
 * A lean or compact row (a row line, or a row of a request line) as a served row: `status`
 * letters, its request parts from its request line, lean `values` by name, compact `values` by
 * position in the names of `columns`. A compact row without `status` has the statuses its values
 * imply: NULL for null, PRESENT for any other. A compact row without `keys` and a request with one
 * join key: the key's value is the entity key's text.
 */
function leanRow(line: Json, request: RequestParts | undefined, columns: readonly string[] | undefined): ServedRow | undefined {
  const { status } = line;
  if (request === undefined || typeof line.servedAt !== 'number' || typeof line.entityKey !== 'string') return undefined;
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
    requestId: request.requestId, service: request.service, entityKey: line.entityKey, keys,
    asOf: request.asOf, servedAt: line.servedAt, values, statuses, views: request.views,
  };
}

/** A line of the format written before the lean one: a whole `ServedRow`. */
function wholeRow(line: Json): ServedRow | undefined {
  const valid = isTime(line.asOf) && typeof line.servedAt === 'number' && isObject(line.values) && isObject(line.statuses) && isObject(line.views);
  return valid ? (line as unknown as ServedRow) : undefined;
}

/**
 * A row of a request line (since 2026-11-30 (17)), `[entityKey, values, status?, keys?]` (`status`
 * `null` or left out when implied, `keys` left out for one string join key), as a served row.
 */
function requestRow(tuple: unknown, request: RequestParts, columns: readonly string[]): ServedRow | undefined {
  if (!Array.isArray(tuple) || tuple.length < 2 || tuple.length > 4) return undefined;
  const [entityKey, values, status, keys] = tuple as unknown[];
  if (status === undefined && tuple.length > 2) return undefined;
  return leanRow({ servedAt: request.servedAt, entityKey, values, status: status ?? undefined, keys: keys ?? undefined }, request, columns);
}

/**
 * The reader of one log file's lines, in file order: every line format of `served-row.ts` (the
 * request lines holding their rows, the compact names, request and row lines, the lean request and
 * row lines, and the whole rows written before) read as `ServedRow`s. A row line whose request
 * line (or, compact, names line) is not before it in the file (a compact row line without
 * `requestId`: not the last request line before it, with the same `servedAt`, and no names line or
 * unparsable line between them), a request line with rows whose names line is not before it, a
 * torn line, or anything that is not a record of the log is `unreadable`; a row of a request line
 * that does not read is `undefined` in its `rows`. Every reader of the log (the batched reader,
 * the purges of erasure and retention) reads lines through it.
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
    const { joinKeys } = line;
    const keys = Array.isArray(joinKeys) && joinKeys.every((k) => typeof k === 'string') ? { joinKeys: joinKeys as string[] } : {};
    const parts: RequestParts = { requestId: line.requestId, service: line.service, asOf: line.asOf, servedAt: line.servedAt, views: line.views as ServedRow['views'], ...keys };
    if (line.rows === undefined) {
      if (requests.size >= REMEMBERED_REQUESTS) requests.delete(requests.keys().next().value!);
      requests.set(line.requestId, (current = parts));
      return { kind: 'request', requestId: line.requestId, rows: [] };
    }
    // A request line holding its rows: read by the names line before it; no row line follows it.
    const names = typeof line.columns === 'string' ? columns.get(line.columns) : undefined;
    if (names === undefined || !Array.isArray(line.rows)) return UNREADABLE;
    return { kind: 'request', requestId: line.requestId, rows: line.rows.map((tuple) => requestRow(tuple, parts, names)), columns: line.columns as string };
  };
}
