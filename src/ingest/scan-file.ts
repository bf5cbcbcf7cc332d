import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ValidationError } from '../errors.js';

/** What one streamed pass over an input file learns before it is parsed. */
export interface FileScan {
  readonly sha256: string;
  readonly bytes: number;
  /** Byte offsets (0-based, ascending) where an invalid UTF-8 sequence starts; empty for binary formats. */
  readonly invalidUtf8: readonly number[];
}

/** Past this many invalid sequences the file is not text at all: it is refused as a whole. */
const MAX_INVALID_UTF8 = 10_000;

/** The length of the UTF-8 sequence a lead byte starts, or 0 when it cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** True when `bytes[at..]` holds one complete, valid sequence of `length` bytes (RFC 3629: no overlongs, no surrogates). */
function validSequence(bytes: Buffer, at: number, length: number): boolean {
  if (at + length > bytes.length) return false;
  const lead = bytes[at]!;
  const second = bytes[at + 1]!;
  const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
  const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
  if (length > 1 && (second < low || second > high)) return false;
  for (let i = 2; i < length; i++) if ((bytes[at + i]! & 0xc0) !== 0x80) return false;
  return true;
}

/** Where `bytes` stops holding only complete sequences: the tail after it may continue in the next chunk. */
function completePrefix(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const at = bytes.length - back;
    const length = sequenceLength(bytes[at]!);
    if ((bytes[at]! & 0xc0) === 0x80) continue;
    return length > back ? at : bytes.length;
  }
  return bytes.length;
}

/**
 * Where the first invalid UTF-8 sequence of `bytes` starts, or undefined when they are all valid
 * (the rule files are read by, for bodies read whole: an HTTP request).
 *
 * @example
 * firstInvalidUtf8(Buffer.from([0x61, 0xff])); // 1
 */
export function firstInvalidUtf8(bytes: Buffer): number | undefined {
  if (isUtf8(bytes)) return undefined;
  const found: number[] = [];
  findInvalid(bytes, 0, found);
  return found[0];
}

/** Appends the offsets of invalid sequences in `bytes` (found at `base` in the file) to `out`. */
function findInvalid(bytes: Buffer, base: number, out: number[]): void {
  for (let at = 0; at < bytes.length; ) {
    const length = sequenceLength(bytes[at]!);
    if (length > 0 && validSequence(bytes, at, length)) {
      at += length;
    } else {
      out.push(base + at);
      at++;
    }
  }
}

/**
 * Streams a file once: its sha256, its size and, for text formats, where it is not valid
 * UTF-8 (so a row with invalid bytes can be rejected rather than silently altered).
 *
 * @example
 * const { sha256, invalidUtf8 } = await scanFile('data/transactions.csv', true);
 */
export async function scanFile(path: string, text: boolean): Promise<FileScan> {
  const hash = createHash('sha256');
  const invalidUtf8: number[] = [];
  let bytes = 0;
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const data = chunk as Buffer;
    hash.update(data);
    if (text) {
      const joined = carry.length === 0 ? data : Buffer.concat([carry, data]);
      const cut = completePrefix(joined);
      const whole = joined.subarray(0, cut);
      if (!isUtf8(whole)) findInvalid(whole, bytes - carry.length, invalidUtf8);
      carry = Buffer.from(joined.subarray(cut));
      if (invalidUtf8.length > MAX_INVALID_UTF8) {
        throw new ValidationError('VALIDATION_FAILED', `${path} is not UTF-8 text (more than ${MAX_INVALID_UTF8} invalid byte sequences); re-export it as UTF-8`);
      }
    }
    bytes += data.length;
  }
  if (carry.length > 0) findInvalid(carry, bytes - carry.length, invalidUtf8);
  return { sha256: hash.digest('hex'), bytes, invalidUtf8 };
}

/**
 * Answers "is there an invalid UTF-8 sequence in [start, end)?" for ranges asked in ascending
 * order, in O(1) amortized: readers walk a file front to back.
 */
export function invalidUtf8Finder(offsets: readonly number[]): (start: number, end: number) => number | undefined {
  let next = 0;
  return (start, end) => {
    while (next < offsets.length && offsets[next]! < start) next++;
    const offset = offsets[next];
    return offset !== undefined && offset < end ? offset : undefined;
  };
}

/**
 * The dead-letter reason for a record holding invalid UTF-8 at `offset` (of the record's own
 * bytes for a message, of the file for a file), with the fix for where it came from: the one
 * wording for every way in.
 */
export const invalidUtf8Reason = (offset: number, fix = 're-export the file as UTF-8'): string => `invalid UTF-8 at byte offset ${offset}; ${fix}`;
