/**
 * The compact row line's `values` (a JSON array, by position) made from a row's text: the serving
 * log copies the answer's own UTF-8 bytes of a row's features (`"<name>":<value>,...}`) into its
 * chunk without their names, so that no value is serialized again and no string is built. Working
 * on the bytes of `JSON.stringify`'s output, the grammar is small: a value is a string (ends at its
 * unescaped closing quote), a list of scalars (ends at the `]` outside a string) or a number,
 * `null`, `true`, `false` (ends at the next `,` or `}`). UTF-8 bytes of non-ASCII characters are
 * all >= 0x80, so they never look like any of these.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * What the last `copyValue` or `positionalCopy` that succeeded left: `read`, where it stopped
 * reading; `firsts[i]`, the first byte of value `i` that `positionalCopy` copied (`n` only for
 * `null`: the serving log writes a row's status letters only when they are not what its values imply).
 */
export const copied = { read: 0, firsts: new Uint8Array(256) };

/**
 * Copies the JSON value starting at `src[from]` (a string, a list of scalars, or a number, `null`,
 * `true`, `false`) to `dest[to...]`, reading no further than `end`; returns where the copy ends in
 * `dest` and sets `copied.read` to the first byte after the value, or -1 when the value does not
 * end before `end`. A scalar ends before the next `,` or `}`.
 *
 * @example
 * const b = Buffer.from('"a,b",1'); copyValue(b, 0, b.length, b, 0); // 5, copied.read === 5
 */
export function copyValue(src: Uint8Array, from: number, end: number, dest: Uint8Array, to: number): number {
  let r = from;
  let w = to;
  if (r >= end) return -1;
  let c = src[r]!;
  if (c === QUOTE) {
    dest[w++] = c;
    r++;
    for (;;) {
      if (r >= end) return -1;
      c = src[r++]!;
      dest[w++] = c;
      if (c === BACKSLASH) {
        if (r >= end) return -1;
        dest[w++] = src[r++]!;
      } else if (c === QUOTE) break;
    }
  } else if (c === OPEN_LIST) {
    let inString = false;
    for (;;) {
      if (r >= end) return -1;
      c = src[r++]!;
      dest[w++] = c;
      if (inString) {
        if (c === BACKSLASH) {
          if (r >= end) return -1;
          dest[w++] = src[r++]!;
        } else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === CLOSE_LIST) break;
    }
  } else {
    while (c !== COMMA && c !== CLOSE_OBJECT) {
      dest[w++] = c;
      if (++r >= end) return -1;
      c = src[r]!;
    }
    if (r === from) return -1;
  }
  copied.read = r;
  return w;
}

/**
 * Copies `src[from...]`, which must hold `"<name 0>":<value 0>,"<name 1>":<value 1>,...}` with
 * exactly the names whose quoted forms plus `:` are `nameBytes[i]` bytes long, in that order, as
 * `[<value 0>,<value 1>,...]` to `dest[to...]`, reading no further than `end`; returns where it
 * ends in `dest` and sets `copied.read` to the byte after the `}`, or -1 (what was written is
 * garbage and the caller writes the row another way) when the bytes are not laid out so: another
 * number of names, a name of another length, the object not ended before `end`. The values'
 * bytes are kept exactly. It never writes more bytes than it reads, so `dest` may be `src` with
 * `to <= from` (in place).
 *
 * @example
 * const b = Buffer.from('"a":1,"bc":"x"}');
 * b.subarray(0, positionalCopy(b, 0, b.length, b, 0, Int32Array.of(4, 5))).toString(); // '[1,"x"]'
 */
export function positionalCopy(src: Uint8Array, from: number, end: number, dest: Uint8Array, to: number, nameBytes: Int32Array): number {
  let w = to;
  let r = from;
  const n = nameBytes.length;
  if (n === 0) return -1;
  let firsts = copied.firsts;
  if (firsts.length < n) copied.firsts = firsts = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const length = nameBytes[i]!;
    if (r + length >= end || src[r] !== QUOTE || src[r + length - 2] !== QUOTE || src[r + length - 1] !== COLON) return -1;
    r += length;
    firsts[i] = src[r]!;
    // A name is 3 bytes at least, the separator 1: writing never overtakes reading.
    dest[w++] = i === 0 ? OPEN_LIST : COMMA;
    w = copyValue(src, r, end, dest, w);
    if (w < 0) return -1;
    r = copied.read;
    if (r >= end || src[r++] !== (i + 1 < n ? COMMA : CLOSE_OBJECT)) return -1;
  }
  dest[w++] = CLOSE_LIST;
  copied.read = r;
  return w;
}
