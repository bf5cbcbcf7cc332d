import { createHash } from 'node:crypto';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import type { ValueStatus } from '../../processing/evaluate-online.js';
import { CHUNK_BYTES, OUT_OF_ROOM, type LineChunks } from './line-chunks.js';
import { positionalNames, type PositionalNames } from './positional-values.js';
import { lineJson } from './request-line.js';
import { impliedStatus, STATUS_CODES } from './served-row.js';

/**
 * The row lines of the compact format (see `served-row.ts`; the request line they follow is
 * `request-line.ts`'s): per sampled row its entity key, join keys, the id of its names line, its
 * values by position and one status letter per value. Built for the serving path: a row's join
 * keys and values are copied from the bytes the HTTP answer was sent as, the features' names
 * dropped in the same pass (`positionalCopy`), then the status letters: no line string and no
 * object is built per row, no value is serialized again, and nothing of the answer is kept. The
 * lines' fixed parts (names, the names line's id) are bytes made once and copied; the short parts
 * of a row (`servedAt`, the entity key) are written in place. A row line does not repeat its
 * request's id (since 2026-11-30): readers take it from the request line just before the rows.
 */

/** The per feature list parts: the names, their JSON-quoted forms, and the names line rows refer to. */
interface FeatureShape {
  readonly names: readonly string[];
  readonly quoted: readonly string[];
  /** The names as the value copy takes them; its `implied` is this list's rows' scratch, set per row. */
  readonly positional: PositionalNames;
  /** The first name's quoted UTF-8 form and colon: a row's features must start with it. */
  readonly firstName: Buffer;
  readonly columns: ServedColumns;
  /** A row line's bytes between its join keys and its values: `},"columns":"<id>","values":`. */
  readonly columnsPart: Buffer;
  /** The same without the keys' end, for a row line without `keys`: `,"columns":"<id>","values":`. */
  readonly columnsPartWithoutKeys: Buffer;
}

/** A names line: `{"columns":"<id>","names":[...]}`, the id a hash of the names, the same in every process. */
export interface ServedColumns {
  readonly id: string;
  /** The line, with its newline. */
  readonly line: string;
}

// `features` of an answer is the serving plan's array, the same for every request of a service.
const shapes = new WeakMap<readonly string[], FeatureShape>();
// The last list's: a request's rows (and a service's requests) share one, looked up once, not per row.
let lastShape: FeatureShape | undefined;

function shapeOf(features: readonly string[]): FeatureShape {
  if (lastShape !== undefined && lastShape.names === features) return lastShape;
  let shape = shapes.get(features);
  if (!shape) {
    const quoted = features.map((f) => `${JSON.stringify(f)}:`);
    const namesJson = JSON.stringify(features);
    const id = createHash('sha256').update(namesJson).digest('hex').slice(0, COLUMNS_ID_HEX);
    const columns = { id, line: `{"columns":"${id}","names":${namesJson}}\n` };
    const columnsPart = Buffer.from(`},"columns":"${id}","values":`);
    shapes.set(features, (shape = { names: features, quoted, positional: positionalNames(features), firstName: Buffer.from(quoted[0] ?? ''), columns, columnsPart, columnsPartWithoutKeys: columnsPart.subarray(1) }));
  }
  return (lastShape = shape);
}

/** Hex digits of a names line's id (64 bits: two lists of names in one log never share one). */
const COLUMNS_ID_HEX = 16;

/**
 * The names line the compact row lines of an answer with these `features` refer to (by `id`);
 * the writer puts it in a file before the first such row of each append.
 *
 * @example
 * servedColumns(['txn__count_7d']).line; // '{"columns":"3b1c…","names":["txn__count_7d"]}\n'
 */
export function servedColumns(features: readonly string[]): ServedColumns {
  return shapeOf(features).columns;
}

const STATUS_BYTES = new Map(Object.entries(STATUS_CODES).map(([status, code]) => [status, code.charCodeAt(0)]));
const UNKNOWN_STATUS = 0x3f; // '?': a status this build does not know; readers skip the row.
const STATUS_OPEN = Buffer.from(',"status":"');
const LINE_END = Buffer.from('"}\n');
/** The end of a row line without `status` (every letter the one its value implies). */
const ROW_END = Buffer.from('}\n');
/** A value's first character when it is `null` (the only JSON value starting with `n`): its implied status is NULL, any other value's PRESENT. */
const NULL_FIRST = 0x6e;

/** A value as JSON, `null` where `JSON.stringify` would leave it out. */
function valueJson(value: unknown): string {
  return value === undefined ? 'null' : lineJson(value);
}

/** The join keys of a row as the inside of `keys`, value by value. */
function keysText(keys: ServedKeys, row: Record<string, unknown>): string {
  let text = '';
  for (let k = 0; k < keys.quotedKeys.length; k++) text += `${k === 0 ? '' : ','}${keys.quotedKeys[k]}${valueJson(row[keys.joinKeys[k]!])}`;
  return text;
}

/** A row's `values` by position, value by value; whether `statuses` are the ones the values imply in `shape.positional.implied`, as `positionalCopy` leaves it. */
function valuesText(shape: FeatureShape, row: Record<string, unknown>, statuses: readonly ValueStatus[]): string {
  const n = shape.names.length;
  let implied = statuses.length === n;
  let text = '[';
  for (let i = 0; i < n; i++) {
    const json = valueJson(row[shape.names[i]!]);
    if (implied && statuses[i] !== impliedStatus(json.charCodeAt(0) === NULL_FIRST)) implied = false;
    text += `${i === 0 ? '' : ','}${json}`;
  }
  shape.positional.implied = implied;
  return `${text}]`;
}

/** The join keys rows are logged by. */
export interface ServedKeys {
  readonly joinKeys: readonly string[];
  /** `joinKeys` JSON-quoted, each followed by `:`. */
  readonly quotedKeys: readonly string[];
  /** `quotedKeys` as UTF-8. */
  readonly quotedKeyBytes: readonly Buffer[];
}

/**
 * The join keys' parts of a plan.
 *
 * @example
 * servedKeys(['customer_id']).quotedKeys; // ['"customer_id":']
 */
export function servedKeys(joinKeys: readonly string[]): ServedKeys {
  const quotedKeys = joinKeys.map((k) => `${JSON.stringify(k)}:`);
  return { joinKeys, quotedKeys, quotedKeyBytes: quotedKeys.map((q) => Buffer.from(q)) };
}

/** A row line's opening, `{"servedAt":` (since 2026-11-30 a row line leaves its request's id to its request line). */
const ROW_OPEN = Buffer.from('{"servedAt":');
const ENTITY_KEY = Buffer.from(',"entityKey":');
const KEYS_OPEN = Buffer.from(',"keys":{');
/** The fixed bytes of a row line's head, and room for the quotes of the entity key. */
const ROW_HEAD_BYTES = ROW_OPEN.length + ENTITY_KEY.length + KEYS_OPEN.length + 2;

/**
 * What the row lines of one request share: its `servedAt` (the number's text), and, once a second
 * row of the request is written, the bytes of `{"servedAt":<servedAt>,"entityKey":` (made once per
 * request, copied per row). The request's id is on its request line only, which its rows follow.
 */
export interface RowLineRequest {
  readonly servedAt: string;
  opening?: Buffer;
}

/**
 * The request's part of its row lines: `{ servedAt }` for the first row; call `rowLineOpening`
 * on it before the second.
 *
 * @example
 * const request = rowLineRequest(String(Date.now()));
 */
export function rowLineRequest(servedAt: string): RowLineRequest {
  return { servedAt };
}

/** Makes the bytes the request's row lines open with, for a request with more than one row. */
export function rowLineOpening(request: RowLineRequest): void {
  request.opening ??= Buffer.from(`{"servedAt":${request.servedAt},"entityKey":`);
}

/** A row line's head up to its join keys: `{"servedAt":<servedAt>,"entityKey":<key>,"keys":{` (without `,"keys":{` when the row leaves them out). */
function writeRowHead(out: LineChunks, request: RowLineRequest, entityKey: string, withKeys: boolean): void {
  if (request.opening !== undefined) out.copy(request.opening);
  else {
    out.copy(ROW_OPEN);
    out.ascii(request.servedAt);
    out.copy(ENTITY_KEY);
  }
  out.jsonString(entityKey);
  if (withKeys) out.copy(KEYS_OPEN);
}

const OPEN_OBJECT = 0x7b;
const COMMA = 0x2c;
const CLOSE_LIST = 0x5d;
/** Room reserved for a row's keys and values before they are copied (a row that needs more moves to a new chunk). */
const ROW_ROOM = 4096;

function startsWith(bytes: Uint8Array, at: number, mark: Uint8Array): boolean {
  if (at + mark.length > bytes.length) return false;
  for (let i = 0; i < mark.length; i++) if (bytes[at + i] !== mark[i]) return false;
  return true;
}

/**
 * Copies the join keys and features of the row whose JSON starts at `source[from]` (`{`) as the row
 * line's `keys` inside (`withKeys`; else its one join key is checked and skipped), its columns part and `values`, leaving `keep` bytes of the chunk free; returns
 * where reading stopped (after the row's `}`), -1 when the row is not laid out as expected (join
 * keys first, then the features in order, then the row's end: `,` or `]` in an answer, the end of a
 * row's own text), or `OUT_OF_ROOM`.
 */
function copyRow(out: LineChunks, keys: ServedKeys, shape: FeatureShape, source: Uint8Array, from: number, keep: number, withKeys: boolean, statuses: readonly ValueStatus[]): number {
  let at = from;
  if (source[at++] !== OPEN_OBJECT) return -1;
  const end = source.length;
  for (let k = 0; k < keys.quotedKeyBytes.length; k++) {
    const name = keys.quotedKeyBytes[k]!;
    if (!startsWith(source, at, name)) return -1;
    if (k > 0) out.byte(COMMA);
    const keyStart = out.mark();
    out.copy(name);
    at = out.value(source, at + name.length, end, keep);
    if (at < 0) return at;
    // Left out: the value is the entity key already written (copied only to find its end).
    if (!withKeys) out.moveTo(keyStart);
    if (source[at++] !== COMMA) return -1;
  }
  if (!startsWith(source, at, shape.firstName)) return -1;
  out.copy(withKeys ? shape.columnsPart : shape.columnsPartWithoutKeys);
  at = out.positional(source, at, end, shape.positional, keep, statuses);
  return at < 0 || at === end || source[at] === COMMA || source[at] === CLOSE_LIST ? at : -1;
}

/**
 * Writes the row line of row `r` of the answer (its entity key already computed) into `out`:
 * `{"servedAt":<servedAt>,"entityKey":<key>,"keys":{...},"columns":"<id>","values":[...],"status":"PPN..."}`
 * and the newline, without `keys` when there is one join key and its value is the entity key's text (a string: the
 * request line's `joinKeys` names it), without `status` when every letter is the one its value implies (`N` for null, `P` for any other) (`id` that of `servedColumns(response.features)`; `servedAt` that of `request`;
 * the row's request id is on the request line written just before its rows).
 * `answer`, when given, is the UTF-8 of `JSON.stringify` of the answer (no bigint in it) and `from`
 * where row `r`'s text starts in it: the join keys and values are copied from those bytes, the
 * features' names dropped (checked: join keys first, then the features in order, nothing after);
 * without it the row's own `JSON.stringify` is copied so. Any other row (another key order, a
 * feature list of another entity) is written value by value. Returns where the row's text ends in
 * `answer` (after its `}`), or -1 when it was not copied from `answer`.
 *
 * @example
 * writeRowLine(chunks, rowLineRequest(String(Date.now())), servedKeys(['customer_id']), response, 0, 'c1');
 */
export function writeRowLine(out: LineChunks, request: RowLineRequest, keys: ServedKeys, response: OnlineFeaturesResponse, r: number, entityKey: string, answer?: Uint8Array, from = 0): number {
  const shape = shapeOf(response.features);
  const row = response.rows[r]!;
  const statuses: readonly ValueStatus[] = response.metadata[r]!.status;
  const tail = STATUS_OPEN.length + statuses.length + LINE_END.length;
  const head = ROW_HEAD_BYTES + 6 * entityKey.length + request.servedAt.length + shape.columnsPart.length;
  // One join key whose value is the entity key's text: the line leaves `keys` out, readers make it again from the request line's `joinKeys`.
  const withKeys = keys.joinKeys.length !== 1 || row[keys.joinKeys[0]!] !== entityKey;
  let copiedTo = -1;
  if (shape.quoted.length > 0) {
    const source = answer ?? Buffer.from(lineJson(row));
    out.reserve(head + ROW_ROOM + tail);
    for (let attempt = 0; copiedTo < 0 && attempt < 2; attempt++) {
      const lineStart = out.mark();
      writeRowHead(out, request, entityKey, withKeys);
      copiedTo = copyRow(out, keys, shape, source, answer === undefined ? 0 : from, tail, withKeys, statuses);
      if (copiedTo >= 0) break;
      out.moveTo(lineStart);
      // A row longer than the chunk's room: once more at the start of a new chunk.
      if (copiedTo !== OUT_OF_ROOM || lineStart === 0) break;
      out.reserve(CHUNK_BYTES);
    }
  }
  if (copiedTo < 0) {
    const keysJson = withKeys ? keysText(keys, row) : '';
    const values = valuesText(shape, row, statuses);
    out.reserve(head + 3 * (keysJson.length + values.length) + tail);
    writeRowHead(out, request, entityKey, withKeys);
    out.text(keysJson);
    out.copy(withKeys ? shape.columnsPart : shape.columnsPartWithoutKeys);
    out.text(values);
  }
  // Every status the one its value implies (checked by the copy): the line leaves `status` out, readers imply it again.
  if (shape.positional.implied || statuses.length === 0) {
    out.copy(ROW_END);
    return answer === undefined ? -1 : copiedTo;
  }
  out.copy(STATUS_OPEN);
  const chunk = out.current();
  let at = out.mark();
  // Neighbouring features mostly share a status: look a status up only when it changes.
  let previous: ValueStatus | undefined;
  let code = UNKNOWN_STATUS;
  for (let i = 0; i < statuses.length; i++) {
    const status = statuses[i]!;
    if (status !== previous) code = STATUS_BYTES.get((previous = status)) ?? UNKNOWN_STATUS;
    chunk[at++] = code;
  }
  out.moveTo(at);
  out.copy(LINE_END);
  return answer === undefined ? -1 : copiedTo;
}
