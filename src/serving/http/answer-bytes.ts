import { putMetadata } from './metadata-bytes.js';
import { putRows } from './row-bytes.js';
import type { RowValueEnds } from './value-ends.js';

/** Answers with arrays longer than this (rows, metadata) are sent as bytes; shorter ones as text. */
export const BYTES_FROM_ELEMENTS = 8;
/** Characters per chunk of array elements serialized at once: well below V8's large-object size (128 Ki one-byte characters). */
const CHUNK_CHARS = 32 * 1024;

const encoder = new TextEncoder();
// Bytes per array element of the last answer sent as bytes: the next buffer's size, so it rarely grows.
let bytesPerElement = 2048;
/**
 * Where answers are written, kept from one answer to the next, then copied out: written byte by
 * byte, a fresh buffer cost about 0.3 ms more per 100-entity answer than a reused one (its pages
 * faulted in, its cache lines fetched one store at a time); one copy of the finished bytes is cheap.
 */
let scratch: Buffer | undefined;
/** A larger scratch buffer is not kept. */
const SCRATCH_LIMIT = 4 * 1024 * 1024;

/** A UTF-8 writer into a Buffer that grows when a piece does not fit (the answer's bytes; `putMetadata` and `putRows` write into it). */
export class ByteSink {
  bytes: Buffer;
  at = 0;
  /** `reuse` when it has `size` bytes, else a new buffer. */
  constructor(size: number, reuse?: Buffer) {
    this.bytes = reuse !== undefined && reuse.length >= size ? reuse : Buffer.allocUnsafe(size);
  }
  /** Makes room for `room` more bytes. */
  ensure(room: number): void {
    if (this.at + room <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.at + room));
    this.bytes.copy(grown, 0, 0, this.at);
    this.bytes = grown;
  }
  put(text: string): void {
    for (;;) {
      const { read, written } = encoder.encodeInto(text, this.at === 0 ? this.bytes : this.bytes.subarray(this.at));
      if (read === text.length) {
        this.at += written;
        return;
      }
      // Did not fit: drop the partial piece, grow, write it again.
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.at + text.length * 3));
      this.bytes.copy(grown, 0, 0, this.at);
      this.bytes = grown;
    }
  }
}

/**
 * The answer's JSON exactly as `stringifyExact` writes it, as UTF-8 bytes, when it is large
 * (undefined when no array of it has more than {@link BYTES_FROM_ELEMENTS} elements: sent as text,
 * as before; returning a string from the route measured slower at one entity). A large answer's text, from one `JSON.stringify`, is a string V8 must flatten into
 * fresh memory (its large-object space: new pages, faulted in) before the HTTP layer can measure
 * and encode it; here each run of array elements (rows, metadata) is serialized by its own
 * `JSON.stringify` (small strings, young memory) and encoded into one Buffer, sent as is. Same
 * bytes: `JSON.stringify` of an array is its elements' texts joined by commas in brackets, of an
 * object its own enumerable keys' in order, skipping values it omits (`undefined`, functions).
 * Answers with a bigint (an int64 beyond 2^53) are left to `stringifyExact` (undefined).
 * `chunkChars`: the characters aimed at per chunk (tests make it small to cut many chunks).
 * `ends`, when given, gets where the rows' values end in the bytes (see `RowValueEnds`; its `rows`
 * 0 unless the rows were written directly and the bytes are returned).
 *
 * @example
 * const bytes = answerBytes(response); // undefined, or Buffer.from(stringifyExact(response))
 */
export function answerBytes(answer: object, chunkChars = CHUNK_CHARS, ends?: RowValueEnds): Buffer | undefined {
  if (ends !== undefined) ends.rows = 0;
  const fields = answer as Record<string, unknown>;
  const keys = Object.keys(fields);
  let elements = 0;
  for (const key of keys) {
    const value = fields[key];
    if (Array.isArray(value) && value.length > BYTES_FROM_ELEMENTS) elements += value.length;
  }
  if (elements === 0) return undefined;
  try {
    // Taken while in use: a value's toJSON that made another answer's bytes would otherwise write into it too.
    const sink = new ByteSink(elements * bytesPerElement + 16 * 1024, scratch);
    scratch = undefined;
    let separator = '{';
    for (const key of keys) {
      const value = fields[key];
      const long = Array.isArray(value) && value.length > BYTES_FROM_ELEMENTS;
      const text = long ? '' : JSON.stringify(value) as string | undefined;
      if (text === undefined) continue;
      sink.put(`${separator}${JSON.stringify(key)}:`);
      separator = ',';
      // The rows and metadata written straight into the bytes (no text of them), unless they have another shape.
      if (long && !putDirect(sink, key, value as unknown[], key === 'rows' ? ends : undefined)) putElements(sink, value as unknown[], chunkChars);
      else sink.put(text);
    }
    sink.put('}');
    bytesPerElement = Math.ceil(sink.at / elements);
    if (sink.bytes.length <= SCRATCH_LIMIT) scratch = sink.bytes;
    const bytes = Buffer.allocUnsafe(sink.at);
    sink.bytes.copy(bytes, 0, 0, sink.at);
    return bytes;
  } catch (error) {
    if (ends !== undefined) ends.rows = 0;
    if (!(error instanceof TypeError)) throw error;
    return undefined;
  }
}

function putDirect(sink: ByteSink, key: string, values: unknown[], ends: RowValueEnds | undefined): boolean {
  if (key === 'rows') return putRows(sink, values, ends);
  return key === 'metadata' && putMetadata(sink, values);
}

/** `JSON.stringify(values)` into `sink`, a chunk of elements at a time: each chunk's closing bracket becomes the next one's comma. */
function putElements(sink: ByteSink, values: readonly unknown[], chunkChars: number): void {
  let size = 8;
  for (let from = 0; from < values.length;) {
    const to = Math.min(values.length, from + size);
    const chunk = JSON.stringify(values.slice(from, to));
    if (from > 0) sink.at--;
    const start = sink.at;
    sink.put(chunk);
    if (from > 0) sink.bytes[start] = 0x2c;
    size = Math.max(1, Math.floor((chunkChars * (to - from)) / chunk.length));
    from = to;
  }
}
