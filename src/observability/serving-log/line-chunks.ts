import { copyValue, positionalCopy, positionalCopyByEnds, positionalReadEnd, type PositionalNames } from './positional-values.js';

/** Chunks of `CHUNK_BYTES` are reused from flush to flush: fresh memory costs a page fault per 4 KiB written. */
export const CHUNK_BYTES = 256 * 1024;
const MAX_POOLED_CHUNKS = 32;
/** What `LineChunks#value` and `#positional` return when the current chunk's room ran out before the value's end. */
export const OUT_OF_ROOM = -2;

/** Released chunks, shared by the pending files of one writer. */
export class ChunkPool {
  private readonly free: Buffer[] = [];

  take(bytes: number): Buffer {
    return bytes <= CHUNK_BYTES ? (this.free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES)) : Buffer.allocUnsafeSlow(bytes);
  }

  release(chunks: readonly Buffer[]): void {
    for (const chunk of chunks) if (chunk.length === CHUNK_BYTES && this.free.length < MAX_POOLED_CHUNKS) this.free.push(chunk);
  }
}

/**
 * The lines of one log file waiting for the next flush, as UTF-8 bytes written straight into
 * pooled chunks outside the JS heap: a line is written in pieces (`text`, `byte`) after `reserve`
 * made room for all of it in one chunk, so no line string is built and nothing of the answer is kept.
 */
export class LineChunks {
  readonly chunks: Buffer[] = [];
  private readonly used: number[] = [];
  /** The sum of `used`. */
  private usedBytes = 0;
  private chunk: Buffer | undefined;
  /** A DataView of `chunk`, for word stores. */
  private view: DataView | undefined;
  private at = 0;

  constructor(private readonly pool: ChunkPool) {}

  /** Makes room for `bytes` more in the current chunk, taking a new one when they do not fit; true when it took one. */
  reserve(bytes: number): boolean {
    if (this.chunk !== undefined && this.chunk.length - this.at >= bytes) return false;
    if (this.chunk !== undefined) {
      this.used.push(this.at);
      this.usedBytes += this.at;
    }
    this.chunk = this.pool.take(bytes);
    this.view = undefined;
    this.chunks.push(this.chunk);
    this.at = 0;
    return true;
  }

  /** Writes `text` as UTF-8 (at most 3 bytes per UTF-16 code unit, reserved before). */
  text(text: string): void {
    this.at += this.chunk!.write(text, this.at);
  }

  /**
   * Copies the JSON value at `src[from]` (see `copyValue`), leaving `keep` bytes of the chunk free;
   * returns where reading stopped, -1 when there is no value ending before `end`, or `OUT_OF_ROOM`
   * when the chunk's room ran out first.
   */
  value(src: Uint8Array, from: number, end: number, keep: number): number {
    const limit = Math.min(end, from + this.chunk!.length - this.at - keep);
    const w = copyValue(src, from, limit, this.chunk!, this.at);
    if (w < 0) return limit < end ? OUT_OF_ROOM : -1;
    // A value is copied byte for byte.
    const read = from + w - this.at;
    this.at = w;
    return read;
  }

  /**
   * Copies a row's features as the answer wrote them (`"<name>":<value>,...}`, from `src[from]`)
   * as the positional `[<value>,...]` (see `positionalCopy`), leaving `keep` bytes of the chunk
   * free; returns where reading stopped (after the `}`), -1 when the bytes are not laid out with
   * exactly the names of `names` (whether `statuses` are the ones the values imply then left in
   * `names.implied`), or `OUT_OF_ROOM`.
   */
  positional(src: Uint8Array, from: number, end: number, names: PositionalNames, keep: number, statuses?: readonly string[]): number {
    // The copy never writes more bytes than it reads: reading within the room keeps the writes in it.
    const limit = Math.min(end, from + this.chunk!.length - this.at - keep);
    const w = positionalCopy(src, from, limit, this.chunk!, this.at, names, statuses);
    if (w < 0) return limit < end ? OUT_OF_ROOM : -1;
    const read = positionalReadEnd(names, from, this.at, w);
    this.at = w;
    return read;
  }

  /**
   * Copies a row's features as the positional `[<value>,...]` by where its values end in `src` (see
   * `positionalCopyByEnds`), in room reserved before for them and 3 bytes more; returns false
   * (nothing written) when the ends do not fit the names.
   */
  byEnds(src: Uint8Array, srcView: DataView, ends: Int32Array, from: number, keysEnd: number, names: PositionalNames, statuses?: readonly string[]): boolean {
    const chunk = this.chunk!;
    this.view ??= new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
    const w = positionalCopyByEnds(src, srcView, ends, from, keysEnd, chunk, this.view, this.at, names, statuses);
    if (w < 0) return false;
    this.at = w;
    return true;
  }

  /** The bytes written into every chunk so far. */
  written(): number {
    return this.usedBytes + this.at;
  }

  /** Where the next byte goes in the current chunk (for `moveTo`). */
  mark(): number {
    return this.at;
  }

  /**
   * Moves where the next byte goes in the current chunk: back to what `mark()` returned (forgets
   * what was written since), or forward past bytes written into `current()` directly (reserved before).
   */
  moveTo(at: number): void {
    this.at = at;
  }

  /** The current chunk, for a loop that writes many single bytes with its own index (then `moveTo`). */
  current(): Buffer {
    return this.chunk!;
  }

  /** Copies bytes made once (a line's fixed parts), reserved before: a native copy, no string. */
  copy(bytes: Uint8Array): void {
    this.chunk!.set(bytes, this.at);
    this.at += bytes.length;
  }

  /**
   * Writes `text[from, to)` as UTF-8 (reserved before: 3 bytes per UTF-16 code unit). A short ASCII
   * piece (an id, a time, a key) is copied by code unit here: a native `Buffer#write` costs more
   * than the copy for a few dozen characters.
   */
  ascii(text: string, from = 0, to = text.length): void {
    const chunk = this.chunk!;
    let at = this.at;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        this.at += chunk.write(text.slice(from, to), this.at);
        return;
      }
      chunk[at++] = c;
    }
    this.at = at;
  }

  /**
   * Writes `text` as `JSON.stringify(text)` writes it (reserved before: 6 bytes per UTF-16 code unit
   * and the quotes): printable ASCII without a quote or backslash is copied as it is, anything else
   * goes through `JSON.stringify`.
   */
  jsonString(text: string): void {
    const chunk = this.chunk!;
    let at = this.at;
    chunk[at++] = 0x22;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.at += chunk.write(JSON.stringify(text), this.at);
        return;
      }
      chunk[at++] = c;
    }
    chunk[at++] = 0x22;
    this.at = at;
  }

  /** Writes one byte (an ASCII character, reserved before). */
  byte(value: number): void {
    this.chunk![this.at++] = value;
  }

  /** The bytes written, each chunk trimmed to what it holds. */
  bytes(): Buffer[] {
    return this.chunks.map((chunk, i) => chunk.subarray(0, i < this.used.length ? this.used[i] : this.at));
  }
}
