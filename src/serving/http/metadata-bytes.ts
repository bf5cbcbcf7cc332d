import { copy, dataViewOf, NULL, NUMBER_ROOM, packPieces, putNumber, putPiece, type JsonSink } from './json-bytes.js';

/** Where {@link putMetadata} writes. */
export type MetadataSink = JsonSink;

const HEAD = Buffer.from('{"status":[');
const MIDDLE = Buffer.from('],"ageMs":[');
// Each row's two, written by putPiece (the room made for a row holds the up to 3 bytes it stores past one).
const PIECES = packPieces([HEAD, MIDDLE]);
// Each status as JSON (quoted), by its text: the few a served value can have.
const STATUSES = new Map(['PRESENT', 'NOT_FOUND', 'OUTSIDE_TTL', 'NULL', 'STALE', 'NOT_MATERIALIZED', 'ERROR'].map((s) => [s, Buffer.from(JSON.stringify(s))]));
const PRESENT = STATUSES.get('PRESENT')!;
/**
 * Room reserved per status or age with its comma (a longer status goes through `put`, which grows
 * the buffer): a number's longest text and its comma, with a margin.
 */
const ROOM_PER_VALUE = NUMBER_ROOM + 7;

/** Status lists already written in this answer (at most this many kept): rows of a service repeat a few patterns. */
const KEPT_PATTERNS = 4;

/**
 * `JSON.stringify(metadata)` into `sink`, byte for byte, for an answer's metadata (per row
 * `{ status: string[], ageMs: (number | null)[] }`), without a string of it: a 100-entity
 * answer's metadata is half its bytes, and serializing it as text made about 200 KB of short-lived
 * strings per request (V8's string parts, then their flattened copy). Statuses are copied from
 * their encoded form, integer ages written digit by digit. A row's status list equal (element by
 * element) to one already written in this answer is copied from those bytes (rows repeat a few
 * patterns: 5 in 1,600 rows of the bench), an age equal to the one before it in its row from its
 * bytes (a row's windows mostly used the same newest event). Returns false, with `sink.at` as it
 * was, when an element is anything else (another key, a `toJSON`, a value of another type): the
 * caller then serializes it as text. The sink must keep the bytes it has written at their offsets
 * when it grows.
 *
 * @example
 * if (!putMetadata(sink, answer.metadata)) putElements(sink, answer.metadata);
 */
export function putMetadata(sink: MetadataSink, metadata: readonly unknown[]): boolean {
  const start = sink.at;
  sink.ensure(1);
  sink.bytes[sink.at++] = 0x5b; // [
  // Status lists written so far (at most KEPT_PATTERNS), with where their bytes are.
  const patterns: unknown[][] = [];
  const from: number[] = [];
  const to: number[] = [];
  for (let r = 0; r < metadata.length; r++) {
    const row = metadata[r] as { status?: unknown; ageMs?: unknown; toJSON?: unknown } | null;
    if (!isPlainPair(row)) return rollBack(sink, start);
    const status = row!.status as unknown[];
    const ageMs = row!.ageMs as unknown[];
    sink.ensure(HEAD.length + MIDDLE.length + 3 + (status.length + ageMs.length) * ROOM_PER_VALUE);
    if (r > 0) sink.bytes[sink.at++] = 0x2c; // ,
    sink.at = putPiece(dataViewOf(sink.bytes), PIECES, 0, sink.at);
    const seen = samePattern(patterns, status);
    if (seen >= 0) {
      const length = to[seen]! - from[seen]!;
      // A kept list may hold long statuses (put as text, beyond the room made per value).
      sink.ensure(length + MIDDLE.length + 3 + ageMs.length * ROOM_PER_VALUE);
      sink.bytes.copyWithin(sink.at, from[seen]!, to[seen]!);
      sink.at += length;
    } else {
      const written = sink.at;
      if (!putStatuses(sink, status, ageMs.length)) return rollBack(sink, start);
      if (patterns.length < KEPT_PATTERNS) {
        patterns.push(status);
        from.push(written);
        to.push(sink.at);
      }
    }
    sink.at = putPiece(dataViewOf(sink.bytes), PIECES, 1, sink.at);
    if (!putAges(sink, ageMs)) return rollBack(sink, start);
    sink.bytes[sink.at++] = 0x5d; // ]
    sink.bytes[sink.at++] = 0x7d; // }
  }
  sink.ensure(1);
  sink.bytes[sink.at++] = 0x5d;
  return true;
}

/** The index of the kept status list with the same elements as `status` (compared with ===), or -1. */
function samePattern(patterns: readonly unknown[][], status: readonly unknown[]): number {
  for (let p = 0; p < patterns.length; p++) {
    const pattern = patterns[p]!;
    if (pattern.length !== status.length) continue;
    let i = 0;
    while (i < status.length && status[i] === pattern[i]) i++;
    if (i === status.length) return p;
  }
  return -1;
}

/** A row's statuses, comma-separated (room made for them); false for an element that is not a string or null. */
function putStatuses(sink: MetadataSink, status: readonly unknown[], ages: number): boolean {
  for (let i = 0; i < status.length; i++) {
    if (i > 0) sink.bytes[sink.at++] = 0x2c;
    const s = status[i];
    if (typeof s !== 'string') {
      if (s !== null && s !== undefined) return false;
      copy(sink, NULL);
      continue;
    }
    // Nearly every value is present: one comparison (interned strings) before the lookup.
    const known = s === 'PRESENT' ? PRESENT : STATUSES.get(s);
    if (known !== undefined) copy(sink, known);
    else {
      sink.put(JSON.stringify(s));
      sink.ensure((status.length - i + ages) * ROOM_PER_VALUE + MIDDLE.length + 3);
    }
  }
  return true;
}

/** A row's ages, comma-separated (room made for them: the bytes do not grow here); an age equal to the previous one is copied from its bytes. False for an element that is not a number or null. */
function putAges(sink: MetadataSink, ageMs: readonly unknown[]): boolean {
  let previous: unknown = undefined;
  let from = 0;
  let to = 0;
  const out = sink.bytes;
  let at = sink.at;
  for (let i = 0; i < ageMs.length; i++) {
    if (i > 0) out[at++] = 0x2c;
    const age = ageMs[i];
    if (typeof age === 'number') {
      if (age === previous) {
        // A word at a time: its bytes lie before `at`, so none is overwritten before it is read; the up to 3 bytes stored past it are in the room made.
        const words = dataViewOf(out);
        for (let b = from; b < to; b += 4) words.setUint32(at + b - from, words.getUint32(b, true), true);
        at += to - from;
      } else {
        from = at;
        sink.at = at;
        putNumber(sink, age);
        at = sink.at;
        to = at;
        previous = age;
      }
    } else if (age === null || age === undefined) {
      for (let b = 0; b < 4; b++) out[at++] = NULL[b]!;
    } else {
      sink.at = at;
      return false;
    }
  }
  sink.at = at;
  return true;
}

/** An object whose own enumerable keys are exactly `status`, `ageMs` (in that order), both arrays, and no `toJSON` anywhere JSON.stringify would call one. */
function isPlainPair(row: { status?: unknown; ageMs?: unknown; toJSON?: unknown } | null): boolean {
  if (typeof row !== 'object' || row === null || Array.isArray(row) || row.toJSON !== undefined) return false;
  let k = 0;
  for (const key in row) {
    if (!(k === 0 ? key === 'status' : k === 1 && key === 'ageMs')) return false;
    k++;
  }
  if (k !== 2 || !Object.prototype.hasOwnProperty.call(row, 'status') || !Object.prototype.hasOwnProperty.call(row, 'ageMs')) return false;
  const { status, ageMs } = row as { status: { toJSON?: unknown }; ageMs: { toJSON?: unknown } };
  return Array.isArray(status) && Array.isArray(ageMs) && status.toJSON === undefined && ageMs.toJSON === undefined;
}

function rollBack(sink: MetadataSink, start: number): false {
  sink.at = start;
  return false;
}
