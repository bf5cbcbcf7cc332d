import { dataViewOf, NULL, NUMBER_ROOM, packPieces, putNumber, putPiece, type JsonSink, type PackedPieces } from './json-bytes.js';
import type { RowValueEnds } from './value-ends.js';

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
/** Room per value, beyond its key: a number's text, or a plain string of up to 30 characters with its quotes. */
const VALUE_ROOM = NUMBER_ROOM + 7;

/**
 * A key list's `"key":` bytes (packed for `putPiece`) and the room a row of them takes (braces,
 * every key with its comma, {@link VALUE_ROOM} per value: more than the 3 bytes `putPiece` may
 * store past a head).
 */
interface RowHeads {
  readonly keys: readonly string[];
  readonly heads: PackedPieces;
  readonly room: number;
}

// The last answer's: answers of a service repeat their keys. Read once per answer (a value's toJSON may write another answer's rows meanwhile).
let last: RowHeads = { keys: [], heads: packPieces([]), room: 0 };

function headsOf(keys: readonly string[]): RowHeads {
  let same = keys.length === last.keys.length;
  for (let k = 0; same && k < keys.length; k++) same = keys[k] === last.keys[k];
  if (!same) {
    const heads = keys.map((key) => Buffer.from(`${JSON.stringify(key)}:`));
    last = { keys, heads: packPieces(heads), room: heads.reduce((sum, head) => sum + head.length + 1 + VALUE_ROOM, 2) };
  }
  return last;
}

/**
 * `JSON.stringify(rows)` into `sink`, byte for byte, for an answer's rows (objects with the same
 * keys, values of scalar types), without a string of them: the rows' text was the largest
 * allocation of a 100-entity request (about 260 KiB, a scavenge every ~19 requests). Keys are
 * copied from their encoded form; safe integers written digit by digit, other numbers by `String`
 * (as JSON.stringify writes them), plain ASCII strings character by character; other strings,
 * and values that are objects without `toJSON`, by `JSON.stringify`. A row of another shape
 * (other keys or order, a bigint, a value with `toJSON`) is written by `JSON.stringify` (its
 * values then read twice). Returns false, with `sink.at` as it was, when a row is not a plain
 * object (another prototype, an array, a `toJSON`), or enumerable keys were added to
 * `Object.prototype`: the caller serializes the rows as text. `ends`, when given, gets where each
 * row starts and each of its values ends in the sink (its `rows` 0 unless this returns true).
 *
 * @example
 * if (!putRows(sink, answer.rows)) putElements(sink, answer.rows);
 */
export function putRows(sink: JsonSink, rows: readonly unknown[], ends?: RowValueEnds): boolean {
  if (ends !== undefined) ends.rows = 0;
  if (rows.length === 0 || !isPlainRow(rows[0]) || inheritsEnumerable()) return false;
  const keys = Object.keys(rows[0] as object);
  const { heads, room } = headsOf(keys);
  ends?.begin(rows.length, keys);
  const start = sink.at;
  sink.ensure(1);
  sink.bytes[sink.at++] = 0x5b; // [
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!isPlainRow(row)) {
      sink.at = start;
      return false;
    }
    if (r > 0) {
      sink.ensure(1);
      sink.bytes[sink.at++] = 0x2c; // ,
    }
    if (ends !== undefined) ends.starts[r] = sink.at;
    if (!putRow(sink, row as Record<string, unknown>, keys, heads, room, ends, r)) {
      if (ends !== undefined) ends.starts[r] = -1;
      sink.put(JSON.stringify(row));
    }
  }
  sink.ensure(1);
  sink.bytes[sink.at++] = 0x5d; // ]
  if (ends !== undefined) ends.rows = rows.length;
  return true;
}

/** A plain object: Object.prototype's, not an array, no `toJSON` (JSON.stringify writes its own enumerable keys). */
function isPlainRow(row: unknown): boolean {
  return typeof row === 'object' && row !== null && Object.getPrototypeOf(row) === Object.prototype && (row as { toJSON?: unknown }).toJSON === undefined;
}

/** Whether `for...in` over a plain object would also see inherited keys (then it does not list exactly what JSON.stringify writes). */
function inheritsEnumerable(): boolean {
  for (const _key in Object.prototype) return true;
  return false;
}

/**
 * One row whose keys are `keys` (or the first of them), in order; false (nothing written) for any
 * other key or value. Room for the whole row is made once (`room`: every key, and up to
 * {@link VALUE_ROOM} bytes per value); a longer value is put as text, and the room made again.
 * `ends`, when given, gets where each value of row `r` ends, or -1 in `ends.starts[r]` when a key
 * is left out (its keys are then not `ends.keys`).
 */
function putRow(sink: JsonSink, row: Record<string, unknown>, keys: readonly string[], heads: PackedPieces, room: number, ends: RowValueEnds | undefined, r: number): boolean {
  const base = r * keys.length;
  const start = sink.at;
  sink.ensure(room);
  let out = sink.bytes;
  let view = dataViewOf(out);
  let at = sink.at;
  out[at++] = 0x7b; // {
  let k = 0;
  let first = true;
  for (const key in row) {
    if (key !== keys[k]) return rollBack(sink, start);
    const value = row[key];
    const head = k++;
    const kind = typeof value;
    // Omitted by JSON.stringify, key and all.
    if (kind === 'undefined' || kind === 'function' || kind === 'symbol') {
      if (ends !== undefined) ends.starts[r] = -1;
      continue;
    }
    // bigint: JSON.stringify throws, or writes what a `BigInt.prototype.toJSON` returns; an object's toJSON is called with its key.
    if (kind === 'bigint' || (kind === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function')) return rollBack(sink, start);
    if (!first) out[at++] = 0x2c; // ,
    first = false;
    at = putPiece(view, heads, head, at);
    if (kind === 'number') {
      sink.at = at;
      putNumber(sink, value as number);
      at = sink.at;
    } else if (kind === 'boolean') {
      const text = value ? TRUE : FALSE;
      for (let i = 0; i < text.length; i++) out[at++] = text[i]!;
    } else if (value === null) {
      for (let i = 0; i < 4; i++) out[at++] = NULL[i]!;
    } else if (kind === 'string' && (value as string).length <= VALUE_ROOM - 2 && isPlainAscii(value as string)) {
      const text = value as string;
      out[at++] = 0x22;
      for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
      out[at++] = 0x22;
    } else {
      // Escapes, non-ASCII, a long string, an array or object (no toJSON): as JSON.stringify writes them.
      sink.at = at;
      sink.put(JSON.stringify(value));
      sink.ensure(room);
      out = sink.bytes;
      view = dataViewOf(out);
      at = sink.at;
    }
    if (ends !== undefined) ends.ends[base + head] = at;
  }
  if (ends !== undefined && k !== keys.length) ends.starts[r] = -1;
  out[at++] = 0x7d; // }
  sink.at = at;
  return true;
}

/** Printable ASCII without `"` or `\`: JSON writes it as is. */
function isPlainAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

function rollBack(sink: JsonSink, start: number): false {
  sink.at = start;
  return false;
}
