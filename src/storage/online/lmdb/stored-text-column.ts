import type { TextColumn } from '../../../processing/aggregations/index.js';
import { type ByteWriter, u32At, utf8 } from './plain-data-codec.js';

/**
 * A text column of a stored state (see `decodeEntityState`): `codes` view the bytes in place, and
 * the dictionary's strings are made only when first asked for. Serving reads most text columns
 * only by code (`countDistinct`) and the newest value's string (`last`): decoding every
 * dictionary made about 9,800 strings per 100-entity request and was most of the decode's time
 * and memory. `dict` decodes them all, once; `textOf` one string (without the others when the
 * dictionary is ASCII). Values and equality are those of a plain `{ dict, codes }` (tests compare
 * with `textColumnsEqual`). The bytes must not be reused while the column is in use.
 *
 * Layout read, from `at`: as {@link writeStoredDictionary} writes it.
 */
export class StoredTextColumn implements TextColumn {
  private decoded: string[] | undefined = undefined;
  /** UTF-16 length of the whole dictionary (-1: not yet summed). */
  private chars = -1;

  constructor(
    readonly codes: Int32Array,
    private readonly bytes: Uint8Array,
    private readonly at: number,
  ) {}

  get dict(): readonly string[] {
    return (this.decoded ??= this.decode());
  }

  /** The string of `code` (a valid code, not -1). */
  textOf(code: number): string {
    if (this.decoded !== undefined) return this.decoded[code]!;
    const b = this.bytes;
    const lengthsAt = this.at + 8;
    const count = u32At(b, this.at);
    // The UTF-16 units before `code` (its byte offset when the dictionary is ASCII), summed in the same pass as the whole's on the first call.
    let before = 0;
    if (this.chars < 0) {
      let chars = 0;
      for (let i = 0; i < count; i++) {
        if (i === code) before = chars;
        chars += u32At(b, lengthsAt + i * 4);
      }
      this.chars = chars;
    } else for (let i = 0; i < code; i++) before += u32At(b, lengthsAt + i * 4);
    // One UTF-8 byte per UTF-16 unit only when every character is ASCII: then offsets are lengths.
    if (this.chars !== u32At(b, this.at + 4)) return this.dict[code]!;
    const from = lengthsAt + count * 4 + before;
    return utf8(b, from, from + u32At(b, lengthsAt + code * 4));
  }

  private decode(): string[] {
    const b = this.bytes;
    const count = u32At(b, this.at);
    const lengthsAt = this.at + 8;
    const textAt = lengthsAt + count * 4;
    // One decode of the whole dictionary, then each string a slice of it.
    const text = utf8(b, textAt, textAt + u32At(b, this.at + 4));
    const dict = new Array<string>(count);
    let from = 0;
    for (let i = 0; i < count; i++) {
      const length = u32At(b, lengthsAt + i * 4);
      dict[i] = text.slice(from, from + length);
      from += length;
    }
    return dict;
  }
}

/** The bytes a stored text column's dictionary takes from `at` (see {@link StoredTextColumn}), to skip over it. */
export function storedDictionaryBytes(bytes: Uint8Array, at: number): number {
  return 8 + u32At(bytes, at) * 4 + u32At(bytes, at + 4);
}

/**
 * Writes a text column's dictionary as a stored state holds it (the one home of this layout:
 * {@link StoredTextColumn} reads it, {@link storedDictionaryBytes} skips it): u32 count, u32 UTF-8
 * bytes, u32[count] UTF-16 lengths, the strings' UTF-8 back to back.
 */
export function writeStoredDictionary(out: ByteWriter, dict: readonly string[]): void {
  out.u32(dict.length);
  const textBytesAt = out.at;
  out.u32(0); // the dictionary's UTF-8 bytes, written once known
  for (const s of dict) out.u32(s.length);
  let textBytes = 0;
  for (const s of dict) textBytes += out.utf8(s);
  out.bytes.writeUInt32LE(textBytes, textBytesAt);
}
