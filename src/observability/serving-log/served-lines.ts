import { createHash } from 'node:crypto';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import type { ValueStatus } from '../../processing/evaluate-online.js';
import type { RowValueEnds } from '../../serving/http/value-ends.js';
import { CHUNK_BYTES, OUT_OF_ROOM, type LineChunks } from './line-chunks.js';
import { positionalNames, type PositionalNames } from './positional-values.js';
import { lineJson } from './request-line.js';
import { impliedStatus, STATUS_CODES } from './served-row.js';

/**
 * The rows of a request line (see `served-row.ts`; the line's opening is `request-line.ts`'s),
 * since 2026-11-30 (17): after the request's parts, `"columns":"<id>"` (its names line) and
 * `"rows":[...]`, per sampled row `[<entityKey>,[<values by position>]]`, with the status letters
 * third when they are not the ones the values imply, and the join keys fourth (`null` third when
 * the letters are implied) when the request's one string join key is not the entity key's text.
 * Built for the serving path: a row's values are copied from the bytes the HTTP answer was sent as,
 * the features' names dropped in the same pass (`positionalCopy`), then the status letters and the
 * join keys (a copy of the answer's bytes too): no line string and no object is built per row, no
 * value is serialized again, and nothing of the answer is kept.
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
  /** The request line's bytes before its rows: `,"columns":"<id>","rows":[`. */
  readonly rowsOpening: Buffer;
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
    const rowsOpening = Buffer.from(`,"columns":"${id}","rows":[`);
    shapes.set(features, (shape = { names: features, quoted, positional: positionalNames(features), firstName: Buffer.from(quoted[0] ?? ''), columns, rowsOpening }));
  }
  return (lastShape = shape);
}

/** Hex digits of a names line's id (64 bits: two lists of names in one log never share one). */
const COLUMNS_ID_HEX = 16;

/**
 * The request line's part before its rows, `,"columns":"<id>","rows":[`, for an answer with these `features`.
 *
 * @example
 * writeRequestLine(chunks, 'r1', String(Date.now()), response, servicePart('s', ['k']), rowsOpening(response.features));
 */
export function rowsOpening(features: readonly string[]): Buffer {
  return shapeOf(features).rowsOpening;
}

/**
 * The names line the rows of an answer with these `features` refer to (by `id`);
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
/** The end of a request line, after its last row. */
export const ROWS_END = Buffer.from(']}\n');
const NULL_STATUS = Buffer.from(',null');
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

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_LIST = 0x5b;
const COMMA = 0x2c;
const QUOTE = 0x22;
const CLOSE_LIST = 0x5d;
/** Room reserved for a row's values and keys before they are copied (a row that needs more moves to a new chunk). */
const ROW_ROOM = 4096;

function startsWith(bytes: Uint8Array, at: number, mark: Uint8Array): boolean {
  if (at + mark.length > bytes.length) return false;
  for (let i = 0; i < mark.length; i++) if (bytes[at + i] !== mark[i]) return false;
  return true;
}

/** A row's opening in its request line: `[<entityKey>,` (`,[...` after the first row). */
function writeRowHead(out: LineChunks, entityKey: string, first: boolean): void {
  if (!first) out.byte(COMMA);
  out.byte(OPEN_LIST);
  out.jsonString(entityKey);
  out.byte(COMMA);
}

// Where the last row `copyRow` copied has its join keys' end in its source (the comma before its features).
let copiedKeysEnd = -1;

/**
 * Copies the features of the row whose JSON starts at `source[from]` (`{`) as its `values`
 * (`[<value>,...]`), its join keys checked and their end kept in `copiedKeysEnd`, leaving `keep`
 * bytes of the chunk free and the keys' room; returns where reading stopped (after the row's `}`),
 * -1 when the row is not laid out as expected (join keys first, then the features in order, then
 * the row's end: `,` or `]` in an answer, the end of a row's own text), or `OUT_OF_ROOM`.
 */
function copyRow(out: LineChunks, keys: ServedKeys, shape: FeatureShape, source: Uint8Array, from: number, keep: number, statuses: readonly ValueStatus[]): number {
  let at = from;
  if (source[at++] !== OPEN_OBJECT) return -1;
  const end = source.length;
  const start = out.mark();
  for (let k = 0; k < keys.quotedKeyBytes.length; k++) {
    const name = keys.quotedKeyBytes[k]!;
    if (!startsWith(source, at, name)) return -1;
    // Copied only to find its end: the keys, when the row keeps them, are copied whole after its values.
    at = out.value(source, at + name.length, end, keep);
    if (at < 0) return at;
    out.moveTo(start);
    if (source[at++] !== COMMA) return -1;
  }
  copiedKeysEnd = at - 1;
  if (!startsWith(source, at, shape.firstName)) return -1;
  at = out.positional(source, at, end, shape.positional, keep + copiedKeysEnd - from + 1, statuses);
  return at < 0 || at === end || source[at] === COMMA || source[at] === CLOSE_LIST ? at : -1;
}

/**
 * The value ends of an answer's bytes (`RowValueEnds`, recorded as they were written) whose rows
 * have exactly a plan's join keys then the answer's features, in that order, with a DataView of
 * those bytes: what `writeRow` copies a row's values by.
 */
export interface AnswerValueEnds {
  readonly ends: RowValueEnds;
  readonly view: DataView;
}

/**
 * `ends` of `answer` (its `answerBytes` bytes) when they are of all of `response`'s rows and their keys are `keys.joinKeys` then
 * `response.features`; undefined otherwise (the rows are then copied by scanning the bytes).
 *
 * @example
 * const byEnds = answerValueEnds(ends, answer, plan, response);
 */
export function answerValueEnds(ends: RowValueEnds | undefined, answer: Uint8Array | undefined, keys: ServedKeys, response: OnlineFeaturesResponse): AnswerValueEnds | undefined {
  if (ends === undefined || answer === undefined || ends.rows === 0 || ends.rows !== response.rows.length) return undefined;
  const joinKeys = keys.joinKeys;
  const features = response.features;
  if (ends.keys.length !== joinKeys.length + features.length) return undefined;
  for (let k = 0; k < joinKeys.length; k++) if (ends.keys[k] !== joinKeys[k]) return undefined;
  for (let i = 0; i < features.length; i++) if (ends.keys[joinKeys.length + i] !== features[i]) return undefined;
  return { ends, view: new DataView(answer.buffer, answer.byteOffset, answer.byteLength) };
}

/**
 * Writes row `r`'s head and values by `byEnds` (reserving exactly their room), its join keys' end
 * kept in `copiedKeysEnd`; returns where the row's text ends in `answer` (after its `}`), or -1
 * with nothing written when its ends do not fit the names.
 */
function copyRowByEnds(out: LineChunks, keys: ServedKeys, shape: FeatureShape, answer: Uint8Array, byEnds: AnswerValueEnds, r: number, entityKey: string, first: boolean, room: number, statuses: readonly ValueStatus[]): number {
  const ends = byEnds.ends.ends;
  const width = byEnds.ends.keys.length;
  const features = r * width + keys.joinKeys.length;
  const keysEnd = ends[features - 1]!;
  const last = ends[r * width + width - 1]!;
  // The values with their commas and brackets are the features' text without the names, plus 1; 3 more for the word
  // stores; then the keys' text (`{` to the comma before the features) and its `}`, when the row keeps them.
  out.reserve(room + last - keysEnd - shape.positional.namesBytes + 4 + keysEnd - byEnds.ends.starts[r]! + 1);
  const rowStart = out.mark();
  writeRowHead(out, entityKey, first);
  if (!out.byEnds(answer, byEnds.view, ends, features, keysEnd, shape.positional, statuses)) {
    out.moveTo(rowStart);
    return -1;
  }
  copiedKeysEnd = keysEnd;
  return last + 1;
}

/** Writes the status letters of a row whose statuses are not all implied: `,"PPN..."`. */
function writeStatusLetters(out: LineChunks, statuses: readonly ValueStatus[]): void {
  out.byte(COMMA);
  out.byte(QUOTE);
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
  out.byte(QUOTE);
}

/**
 * Writes row `r` of the answer (its entity key already computed) into its request line in `out`:
 * `[<key>,[<values>]]`, `,`-separated from the row before unless `first`; the status letters third
 * when one is not the one its value implies (`N` for null, `P` for any other: `STATUS_CODES`), the
 * join keys `{...}` fourth (`null` third when the letters are implied) unless there is one join key
 * and its value is the entity key's text (a string: the request line's `joinKeys` names it). The
 * values are by position in the names of `servedColumns(response.features)`. `answer`, when given,
 * is the UTF-8 of `JSON.stringify` of the answer (no bigint in it) and `from` where row `r`'s text
 * starts in it: the values and join keys are copied from those bytes, the features' names dropped
 * (checked: join keys first, then the features in order, nothing after); without it the row's own
 * `JSON.stringify` is copied so. Any other row (another key order, a feature list of another
 * entity) is written value by value. `byEnds`, when given (`answerValueEnds` of `answer`), says
 * where the row starts and each of its values ends in `answer` (then `from` is not read, and no
 * byte of the row is scanned), unless it marks the row as not recorded. Returns where the row's text ends in
 * `answer` (after its `}`), or -1 when it was not copied from `answer`.
 *
 * @example
 * writeRow(chunks, servedKeys(['customer_id']), response, 0, 'c1', true);
 */
export function writeRow(out: LineChunks, keys: ServedKeys, response: OnlineFeaturesResponse, r: number, entityKey: string, first: boolean, answer?: Uint8Array, from = 0, byEnds?: AnswerValueEnds): number {
  const shape = shapeOf(response.features);
  const row = response.rows[r]!;
  const statuses: readonly ValueStatus[] = response.metadata[r]!.status;
  // The letters (`,"..."` or `,null`) and the row's end.
  const tail = statuses.length + 8;
  const head = 4 + 6 * entityKey.length + 2;
  // One join key whose value is the entity key's text: the row leaves its keys out, readers make them again from the request line's `joinKeys`.
  const withKeys = keys.joinKeys.length !== 1 || row[keys.joinKeys[0]!] !== entityKey;
  let copiedTo = -1;
  let source: Uint8Array | undefined;
  let rowFrom = 0;
  if (shape.quoted.length > 0) {
    source = answer ?? Buffer.from(lineJson(row));
    rowFrom = answer === undefined ? 0 : from;
    if (byEnds !== undefined && answer !== undefined && byEnds.ends.starts[r]! >= 0) {
      rowFrom = byEnds.ends.starts[r]!;
      copiedTo = copyRowByEnds(out, keys, shape, answer, byEnds, r, entityKey, first, head + tail, statuses);
    }
    if (copiedTo < 0) out.reserve(head + ROW_ROOM + tail);
    for (let attempt = 0; copiedTo < 0 && attempt < 2; attempt++) {
      const rowStart = out.mark();
      writeRowHead(out, entityKey, first);
      copiedTo = copyRow(out, keys, shape, source, rowFrom, tail, statuses);
      if (copiedTo >= 0) break;
      out.moveTo(rowStart);
      // A row longer than the chunk's room: once more at the start of a new chunk.
      if (copiedTo !== OUT_OF_ROOM || rowStart === 0) break;
      out.reserve(CHUNK_BYTES);
    }
  }
  const implied = statuses.length === 0 || (copiedTo >= 0 ? shape.positional.implied : false);
  if (copiedTo < 0) {
    const keysJson = withKeys ? `{${keysText(keys, row)}}` : '';
    const values = valuesText(shape, row, statuses);
    out.reserve(head + 3 * (keysJson.length + values.length) + tail);
    writeRowHead(out, entityKey, first);
    out.text(values);
    writeRowEnd(out, statuses, statuses.length === 0 || shape.positional.implied, withKeys);
    if (withKeys) out.text(keysJson);
  } else {
    writeRowEnd(out, statuses, implied, withKeys);
    // The keys as the answer wrote them: the row's text from its `{` to the comma before its features.
    if (withKeys) {
      out.copy(source!.subarray(rowFrom, copiedKeysEnd));
      out.byte(CLOSE_OBJECT);
    }
  }
  out.byte(CLOSE_LIST);
  return answer === undefined ? -1 : copiedTo;
}

/** After a row's values: its letters (or `,null` when they are implied and its keys follow), and the comma before its keys. */
function writeRowEnd(out: LineChunks, statuses: readonly ValueStatus[], implied: boolean, withKeys: boolean): void {
  if (!implied) writeStatusLetters(out, statuses);
  else if (withKeys) out.copy(NULL_STATUS);
  if (withKeys) out.byte(COMMA);
}
