/**
 * The compact row line's `values` (a JSON array, by position) made from a row's text: the serving
 * log copies the answer's own UTF-8 bytes of a row's features (`"<name>":<value>,...}`) into its
 * chunk without their names, so that no value is serialized again and no string is built. Working
 * on the bytes of `JSON.stringify`'s output, the grammar is small: a value is a string (ends at its
 * unescaped closing quote), a list of scalars (ends at the `]` outside a string) or a number,
 * `null`, `true`, `false` (ends at the next `,` or `}`). UTF-8 bytes of non-ASCII characters are
 * all >= 0x80, so they never look like any of these. Nothing here keeps state between calls: what
 * a copy leaves besides its bytes goes into the `PositionalNames` its caller passes.
 */

import { impliedStatus } from './served-row.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const CLOSE_OBJECT = 0x7d;
/** A value's first byte when it is `null` (the only JSON value starting with `n`). */
const NULL_FIRST = 0x6e;

/** Copies the string at `src[from]` (its `"`) byte for byte; returns where writing ended, or -1 when it does not end before `end`. */
function copyString(src: Uint8Array, from: number, end: number, dest: Uint8Array, to: number): number {
  let r = from + 1;
  let w = to;
  dest[w++] = QUOTE;
  for (;;) {
    if (r >= end) return -1;
    const c = src[r++]!;
    dest[w++] = c;
    if (c === BACKSLASH) {
      if (r >= end) return -1;
      dest[w++] = src[r++]!;
    } else if (c === QUOTE) return w;
  }
}

/** Copies the list of scalars at `src[from]` (its `[`) byte for byte, to its `]` outside a string; returns where writing ended, or -1. */
function copyList(src: Uint8Array, from: number, end: number, dest: Uint8Array, to: number): number {
  let r = from;
  let w = to;
  let inString = false;
  for (;;) {
    if (r >= end) return -1;
    const c = src[r++]!;
    dest[w++] = c;
    if (inString) {
      if (c === BACKSLASH) {
        if (r >= end) return -1;
        dest[w++] = src[r++]!;
      } else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === CLOSE_LIST) return w;
  }
}

/**
 * Copies the JSON value starting at `src[from]` (a string, a list of scalars, or a number, `null`,
 * `true`, `false`) to `dest[to...]`, byte for byte, reading no further than `end`; returns where
 * the copy ends in `dest` (so the value's bytes in `src` end at `from + returned - to`), or -1
 * when the value does not end before `end`. A scalar ends before the next `,` or `}`.
 *
 * @example
 * const b = Buffer.from('"a,b",1'); copyValue(b, 0, b.length, b, 0); // 5
 */
export function copyValue(src: Uint8Array, from: number, end: number, dest: Uint8Array, to: number): number {
  if (from >= end) return -1;
  let c = src[from]!;
  if (c === QUOTE) return copyString(src, from, end, dest, to);
  if (c === OPEN_LIST) return copyList(src, from, end, dest, to);
  let r = from;
  let w = to;
  while (c !== COMMA && c !== CLOSE_OBJECT) {
    dest[w++] = c;
    if (++r >= end) return -1;
    c = src[r]!;
  }
  return r === from ? -1 : w;
}

/** The names of one features list as `positionalCopy` takes them, and what it leaves per value: one per features list, owned by its caller. */
export interface PositionalNames {
  /** Per name, the UTF-8 bytes of its quoted form and the colon (`"<name>":`). */
  readonly nameBytes: Int32Array;
  /** The sum of `nameBytes`. */
  readonly namesBytes: number;
  /**
   * After a copy that succeeded and was given the row's statuses: whether there is one status per
   * value and each is the one its value implies (`impliedStatus`: NULL for a `null`, PRESENT for any
   * other value), checked in the copy's own loop (since 2026-11-30: a loop of its own over the
   * values' first bytes after the copy cost about as much again as a third of the copy).
   */
  implied: boolean;
}

/**
 * The `PositionalNames` of a features list.
 *
 * @example
 * positionalNames(['a', 'bc']).nameBytes; // Int32Array [4, 5]
 */
export function positionalNames(names: readonly string[]): PositionalNames {
  const nameBytes = Int32Array.from(names, (name) => Buffer.byteLength(`${JSON.stringify(name)}:`));
  return { nameBytes, namesBytes: nameBytes.reduce((sum, bytes) => sum + bytes, 0), implied: false };
}

/**
 * Where `positionalCopy(src, from, end, dest, to, names)` stopped reading (the byte after the
 * row's `}`) when it returned `written`: the copy drops exactly the names' bytes and writes `[`
 * and `]` where it read the `}`, so it read `written - to - 1 + names.namesBytes` bytes.
 *
 * @example
 * positionalReadEnd(names, from, to, positionalCopy(src, from, end, dest, to, names));
 */
export function positionalReadEnd(names: PositionalNames, from: number, to: number, written: number): number {
  return from + written - to - 1 + names.namesBytes;
}

/**
 * Copies `src[from...]`, which must hold `"<name 0>":<value 0>,"<name 1>":<value 1>,...}` with
 * exactly the names whose quoted forms plus `:` are `names.nameBytes[i]` bytes long, in that
 * order, as `[<value 0>,<value 1>,...]` to `dest[to...]`, reading no further than `end`; returns
 * where it ends in `dest` (where reading stopped: `positionalReadEnd`) and leaves in
 * `names.implied` whether `statuses` (when given) are the ones the values imply, or -1 (what was written is garbage and the caller writes the row
 * another way) when the bytes are not laid out so: another number of names, a name of another
 * length, the object not ended before `end`. The values' bytes are kept exactly. It never writes
 * more bytes than it reads, so `dest` may be `src` with `to <= from` (in place). A scalar, the
 * most common value, is copied in the loop itself (the grammar of `copyValue`'s scalar case):
 * through `copyValue` the copy of a 100-row answer took about 15% longer (measured 2026-11-29).
 *
 * @example
 * const b = Buffer.from('"a":1,"bc":"x"}');
 * b.subarray(0, positionalCopy(b, 0, b.length, b, 0, positionalNames(['a', 'bc']))).toString(); // '[1,"x"]'
 */
export function positionalCopy(src: Uint8Array, from: number, end: number, dest: Uint8Array, to: number, names: PositionalNames, statuses?: readonly string[]): number {
  const nameBytes = names.nameBytes;
  const n = nameBytes.length;
  if (n === 0) return -1;
  let implied = statuses !== undefined && statuses.length === n;
  let w = to;
  let r = from;
  for (let i = 0; ; ) {
    const length = nameBytes[i]!;
    if (r + length >= end || src[r] !== QUOTE || src[r + length - 2] !== QUOTE || src[r + length - 1] !== COLON) return -1;
    r += length;
    // A name is 3 bytes at least, the separator 1: writing never overtakes reading.
    dest[w++] = i === 0 ? OPEN_LIST : COMMA;
    let c = src[r]!;
    if (implied && statuses![i] !== impliedStatus(c === NULL_FIRST)) implied = false;
    if (c === QUOTE || c === OPEN_LIST) {
      const written = c === QUOTE ? copyString(src, r, end, dest, w) : copyList(src, r, end, dest, w);
      if (written < 0) return -1;
      r += written - w;
      w = written;
      if (r >= end) return -1;
      c = src[r]!;
    } else {
      if (c === COMMA || c === CLOSE_OBJECT) return -1;
      do {
        dest[w++] = c;
        if (++r >= end) return -1;
        c = src[r]!;
      } while (c !== COMMA && c !== CLOSE_OBJECT);
    }
    r++;
    if (++i === n) {
      if (c !== CLOSE_OBJECT) return -1;
      break;
    }
    if (c !== COMMA) return -1;
  }
  dest[w++] = CLOSE_LIST;
  names.implied = implied;
  return w;
}

/**
 * Copies a row's features as `positionalCopy` does, `[<value 0>,<value 1>,...]` to `dest[to...]`,
 * where the bytes' writer said each value ends: value `i` ends at `ends[from + i]` (at the `,` or
 * `}` after it) and starts after the previous value's end (`keysEnd` for the first), its `,` and
 * its name (`names.nameBytes[i]` bytes, which must end with `:`). No byte is scanned: the values are
 * copied four bytes at a time through `srcView` and `destView` (DataViews of `src` and `dest`),
 * so up to 3 bytes past the `]` in `dest` are overwritten (room must be made for them). Returns
 * where it ends in `dest` and leaves in `names.implied` whether `statuses` are the ones the values
 * imply, or -1 when a value's bounds are not laid out so (the caller copies the row another way).
 * A third to a half of `positionalCopy`'s time for the bench service's rows (microbench, 2026-12-01).
 *
 * @example
 * positionalCopyByEnds(answer, answerView, ends.ends, r * ends.keys.length + 1, ends.valueEnd(r, 0), chunk, chunkView, at, names, statuses);
 */
export function positionalCopyByEnds(
  src: Uint8Array, srcView: DataView, ends: Int32Array, from: number, keysEnd: number,
  dest: Uint8Array, destView: DataView, to: number, names: PositionalNames, statuses?: readonly string[],
): number {
  const nameBytes = names.nameBytes;
  const n = nameBytes.length;
  if (n === 0) return -1;
  let implied = statuses !== undefined && statuses.length === n;
  // A word read at `b` reads up to `b + 3`: values ending closer than that to the end are copied byte by byte.
  const wordLimit = src.length - 3;
  let w = to;
  let previous = keysEnd;
  for (let i = 0; i < n; i++) {
    const start = previous + 1 + nameBytes[i]!;
    const end = ends[from + i]!;
    if (!(end > start) || src[start - 1] !== COLON) return -1;
    dest[w++] = i === 0 ? OPEN_LIST : COMMA;
    if (implied && statuses![i] !== impliedStatus(src[start] === NULL_FIRST)) implied = false;
    if (end <= wordLimit) {
      for (let b = start; b < end; b += 4) destView.setInt32(w + b - start, srcView.getInt32(b, true), true);
    } else {
      for (let b = start; b < end; b++) dest[w + b - start] = src[b]!;
    }
    w += end - start;
    previous = end;
  }
  dest[w++] = CLOSE_LIST;
  names.implied = implied;
  return w;
}
