/** Where the answer's JSON is written as bytes: bytes with room made by `ensure`, strings put as UTF-8 by `put`. */
export interface JsonSink {
  bytes: Buffer;
  at: number;
  ensure(room: number): void;
  put(text: string): void;
}

/**
 * The most bytes `putNumber` writes: the longest text JSON gives a number is 25 characters
 * (`-0.0000019370195483709653`). Writers make this much room per number (a byte stored past a
 * Buffer's end is dropped without an error), so their room rules start from here.
 */
export const NUMBER_ROOM = 25;

/** `null`, as JSON writes it. */
export const NULL = Buffer.from('null');
// Below 2^50 a number times the power of ten that makes it an integer is well inside a double's precision (see putDecimal).
const DECIMAL_LIMIT = 2 ** 50;

/** Copies `bytes` to `sink` at its end (room already made). */
export function copy(sink: JsonSink, bytes: Buffer): void {
  const out = sink.bytes;
  let at = sink.at;
  for (let i = 0; i < bytes.length; i++) out[at++] = bytes[i]!;
  sink.at = at;
}

/** A string of ASCII characters (a number's text, a plain string's), one byte each (room already made). */
export function putAscii(sink: JsonSink, text: string): void {
  const out = sink.bytes;
  let at = sink.at;
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  sink.at = at;
}

/**
 * Byte strings (a row's `"key":` heads) packed as little-endian 32-bit words, each piece padded to
 * whole words, for {@link putPiece}: a piece of ~20 bytes written as 5 word stores costs about half
 * of `Uint8Array#set` (a builtin call per piece) and a third of a byte loop.
 */
export interface PackedPieces {
  readonly words: Uint32Array;
  /** Per piece: its first word. */
  readonly from: Int32Array;
  /** Per piece: its length in bytes. */
  readonly lengths: Int32Array;
}

/** {@link PackedPieces} of `pieces`, in order. */
export function packPieces(pieces: readonly Uint8Array[]): PackedPieces {
  const from = new Int32Array(pieces.length);
  const lengths = new Int32Array(pieces.length);
  let total = 0;
  pieces.forEach((piece, p) => {
    from[p] = total;
    lengths[p] = piece.length;
    total += (piece.length + 3) >> 2;
  });
  const padded = new Uint8Array(total * 4);
  pieces.forEach((piece, p) => padded.set(piece, from[p]! * 4));
  const bytes = new DataView(padded.buffer);
  const words = new Uint32Array(total);
  for (let w = 0; w < total; w++) words[w] = bytes.getUint32(w * 4, true);
  return { words, from, lengths };
}

/**
 * Writes piece `p` of `packed` into the bytes `view` views at `at`, returning the position after
 * it. It stores whole words: up to 3 bytes past the piece's end are overwritten too, so room must
 * be made for them (the bytes after the piece, written next, replace them).
 */
export function putPiece(view: DataView, packed: PackedPieces, p: number, at: number): number {
  const words = packed.words;
  const length = packed.lengths[p]!;
  let w = packed.from[p]!;
  for (let b = 0; b < length; b += 4) view.setUint32(at + b, words[w++]!, true);
  return at + length;
}

let viewed: Uint8Array | undefined;
let view: DataView = new DataView(new ArrayBuffer(0));

/** A DataView of `bytes` (the last one made, while `bytes` is the same array). */
export function dataViewOf(bytes: Uint8Array): DataView {
  if (bytes !== viewed) {
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    viewed = bytes;
  }
  return view;
}

// "00" to "99", two bytes each.
const PAIRS = Buffer.from(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''));

/** A number as JSON.stringify writes it: integers and short decimals digit by digit, other finite numbers as `String` writes them, the rest null (room for {@link NUMBER_ROOM} bytes already made). */
export function putNumber(sink: JsonSink, x: number): void {
  if (Number.isSafeInteger(x)) putInteger(sink, x);
  else if (!Number.isFinite(x)) copy(sink, NULL);
  // JSON.stringify, not String: V8 keeps String's results in its number-string cache, where they outlive a scavenge.
  else if (!putDecimal(sink, x)) putAscii(sink, JSON.stringify(x));
}

/** A safe integer, digit by digit. */
function putInteger(sink: JsonSink, x: number): void {
  const out = sink.bytes;
  let at = sink.at;
  if (x < 0) {
    out[at++] = 0x2d; // -
    x = -x;
  }
  // Above 2^32 - 1: the digits above the last nine first, then those nine (unsigned 32-bit arithmetic for each part).
  if (x > 0xffffffff) {
    const high = Math.floor(x / 1e9);
    sink.at = at;
    putInteger(sink, high);
    at = sink.at;
    let low = x - high * 1e9;
    for (let i = 8; i >= 0; i--) {
      out[at + i] = 0x30 + (low % 10);
      low = Math.floor(low / 10);
    }
    sink.at = at + 9;
    return;
  }
  let digits = 1;
  for (let rest = x; rest >= 10; rest = (rest / 10) >>> 0) digits++;
  at += digits;
  sink.at = at;
  let v = x >>> 0;
  while (v >= 100) {
    const pair = (v % 100) * 2;
    v = (v / 100) >>> 0;
    out[--at] = PAIRS[pair + 1]!;
    out[--at] = PAIRS[pair]!;
  }
  if (v >= 10) {
    out[at - 1] = PAIRS[v * 2 + 1]!;
    out[at - 2] = PAIRS[v * 2]!;
  } else out[at - 1] = 0x30 + v;
}

/**
 * A non-integer number of at most 16 significant digits between 1e-6 and 1e15 (amounts, most sums
 * and averages), written as `String(x)` writes it, without a string: false (nothing written) for
 * any other. At the fewest decimals `d` for which an integer `k` has `k / 10^d === x`, the digits
 * of `k` with the point placed are the shortest that read back as `x` (what ECMAScript's
 * Number::toString writes): division is correctly rounded, so the shortest representation passes
 * the check at its `d` and none passes before; while `k < 2^50`, decimals at that spacing are
 * more than a unit in the last place of `x` apart, so `k` is the only one and `Math.round` finds it.
 * The whole part is `Math.floor(x)`: no decimal nearer an integer than `x` rounds to `x`.
 */
function putDecimal(sink: JsonSink, x: number): boolean {
  const a = x < 0 ? -x : x;
  if (!(a >= 1e-6 && a < 1e15)) return false;
  let scale = 1;
  for (let d = 1; d <= 21; d++) {
    scale *= 10;
    const k = Math.round(a * scale);
    if (k >= DECIMAL_LIMIT) return false;
    if (k / scale !== a) continue;
    if (x < 0) sink.bytes[sink.at++] = 0x2d; // -
    // The whole part, the point, then d digits of the rest (leading zeros kept); below 2^50 these divisions are exact.
    const whole = Math.floor(a);
    putInteger(sink, whole);
    const out = sink.bytes;
    const at = sink.at;
    out[at] = 0x2e; // .
    let rest = k - whole * scale;
    for (let i = d; i > 0; i--) {
      const next = Math.floor(rest / 10);
      out[at + i] = 0x30 + (rest - next * 10);
      rest = next;
    }
    sink.at = at + d + 1;
    return true;
  }
  return false;
}
