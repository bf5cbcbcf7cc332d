/**
 * The compact row line's `values` (a JSON array, by position) made from a row's text in place:
 * the serving log writes the answer's own text of a row's features (`"<name>":<value>,...}`,
 * UTF-8) into its chunk, then drops the names from those bytes, so that no value is serialized
 * again and no string is built. Working on the bytes of `JSON.stringify`'s output, the grammar
 * is small: a value is a string (ends at its unescaped closing quote), a list of scalars (ends at
 * the `]` outside a string) or a number, `null`, `true`, `false` (ends at the next `,` or `}`).
 * UTF-8 bytes of non-ASCII characters are all >= 0x80, so they never look like any of these.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Rewrites `bytes[from, end)`, which must hold `"<name 0>":<value 0>,"<name 1>":<value 1>,...}`
 * with exactly the names whose quoted forms plus `:` are `nameBytes[i]` bytes long, in that order,
 * into `[<value 0>,<value 1>,...]` starting at `from`; returns where it ends, or -1 (the bytes
 * then are garbage and the caller writes the row another way) when the bytes are not laid out so:
 * another number of names, a name of another length, anything after the object's end.
 * The values' bytes are kept exactly.
 *
 * @example
 * const b = Buffer.from('"a":1,"bc":"x"}');
 * b.subarray(0, positionalValues(b, 0, b.length, Int32Array.of(4, 5))).toString(); // '[1,"x"]'
 */
export function positionalValues(bytes: Uint8Array, from: number, end: number, nameBytes: Int32Array): number {
  let w = from;
  let r = from;
  const n = nameBytes.length;
  if (n === 0) return -1;
  for (let i = 0; i < n; i++) {
    const length = nameBytes[i]!;
    if (r + length >= end || bytes[r] !== QUOTE || bytes[r + length - 2] !== QUOTE || bytes[r + length - 1] !== COLON) return -1;
    r += length;
    // A name is 3 bytes at least, the separator 1: writing never overtakes reading.
    bytes[w++] = i === 0 ? OPEN_LIST : COMMA;
    let c = bytes[r]!;
    if (c === QUOTE) {
      bytes[w++] = c;
      r++;
      for (;;) {
        if (r >= end) return -1;
        c = bytes[r++]!;
        bytes[w++] = c;
        if (c === BACKSLASH) bytes[w++] = bytes[r++]!;
        else if (c === QUOTE) break;
      }
    } else if (c === OPEN_LIST) {
      let inString = false;
      for (;;) {
        if (r >= end) return -1;
        c = bytes[r++]!;
        bytes[w++] = c;
        if (inString) {
          if (c === BACKSLASH) bytes[w++] = bytes[r++]!;
          else if (c === QUOTE) inString = false;
        } else if (c === QUOTE) inString = true;
        else if (c === CLOSE_LIST) break;
      }
    } else {
      while (c !== COMMA && c !== CLOSE_OBJECT) {
        bytes[w++] = c;
        if (++r >= end) return -1;
        c = bytes[r]!;
      }
    }
    if (r >= end) return -1;
    c = bytes[r++]!;
    if (i + 1 < n ? c !== COMMA : c !== CLOSE_OBJECT || r !== end) return -1;
  }
  bytes[w++] = CLOSE_LIST;
  return w;
}
