import { AdapterError } from '../../../errors.js';

/**
 * A compact binary form of plain data (null, undefined, booleans, numbers, bigints, strings, arrays,
 * objects with string keys): what accumulator snapshots are made of (see `Accumulator.snapshot`).
 * Numbers keep every bit (-0, NaN payloads); small integers take 5 bytes instead of 9, and an
 * array of float32 values (a vector) 4 bytes per value. Keys that
 * snapshots use are one byte, so the usual `{ value, ts }` costs no key text.
 */

const enum Tag {
  Null = 0,
  Undefined = 1,
  False = 2,
  True = 3,
  Int32 = 4,
  Float64 = 5,
  BigInt = 6,
  String = 7,
  Array = 8,
  Object = 9,
  /** An array of 8 or more numbers that are all float32 values (an embedding): 4 bytes each. */
  Float32s = 10,
}

/** Whether an array is worth writing as {@link Tag.Float32s}: long enough, and every item a float32 value. */
function isFloat32s(items: readonly unknown[]): boolean {
  if (items.length < 8) return false;
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (typeof v !== 'number' || Math.fround(v) !== v) return false;
  }
  return true;
}

/** Object keys written as one byte: the keys accumulator snapshots use. Append only (the stored form depends on the order). */
const KNOWN_KEYS = ['value', 'ts', 'n', 'partials', 'big', 'state'] as const;
const KNOWN_KEY_INDEX = new Map<string, number>(KNOWN_KEYS.map((k, i) => [k, i]));
const OTHER_KEY = 255;

/** A growable little-endian byte writer. */
export class ByteWriter {
  bytes: Buffer;
  at = 0;
  constructor(size = 256) {
    this.bytes = Buffer.allocUnsafe(size);
  }
  reserve(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.at + n));
    this.bytes.copy(grown, 0, 0, this.at);
    this.bytes = grown;
  }
  u8(v: number): void {
    this.reserve(1);
    this.bytes[this.at++] = v;
  }
  u32(v: number): void {
    this.reserve(4);
    this.bytes.writeUInt32LE(v, this.at);
    this.at += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.bytes.writeInt32LE(v, this.at);
    this.at += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.bytes.writeDoubleLE(v, this.at);
    this.at += 8;
  }
  /** Zero bytes up to the next multiple of 8, so that a Float64Array can view what follows. */
  align8(): void {
    const pad = (8 - (this.at % 8)) % 8;
    this.reserve(pad);
    this.bytes.fill(0, this.at, this.at + pad);
    this.at += pad;
  }
  raw(view: ArrayBufferView): void {
    this.reserve(view.byteLength);
    this.bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), this.at);
    this.at += view.byteLength;
  }
  /** A UTF-8 string with its byte length (u32) before it. */
  string(s: string): void {
    this.reserve(4);
    const at = this.at;
    this.at += 4;
    const n = this.utf8(s); // first: it may move `bytes`
    this.bytes.writeUInt32LE(n, at);
  }
  /** A string's UTF-8 bytes; returns how many. Short ASCII without a call into C++. */
  utf8(s: string): number {
    this.reserve(s.length * 3);
    const bytes = this.bytes;
    const start = this.at;
    if (s.length <= 32) {
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[start + i] = c;
      }
      if (i === s.length) {
        this.at += i;
        return i;
      }
    }
    const n = bytes.write(s, start, 'utf8');
    this.at += n;
    return n;
  }
}

// One float64 in 8 bytes: reading through it needs no DataView per input (decoding is synchronous).
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/** A little-endian byte reader over a Uint8Array. */
/** The little-endian u32 at `bytes[i..i+4]` (what {@link ByteReader.u32} reads, without a reader). */
export function u32At(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16)) + b[i + 3]! * 0x1000000;
}

export class ByteReader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  u8(): number {
    return this.bytes[this.at++]!;
  }
  u32(): number {
    const i = this.at;
    this.at += 4;
    return u32At(this.bytes, i);
  }
  i32(): number {
    const b = this.bytes;
    const i = this.at;
    this.at += 4;
    return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
  }
  f64(): number {
    const b = this.bytes;
    const i = this.at;
    for (let k = 0; k < 8; k++) scratchBytes[k] = b[i + k]!;
    this.at += 8;
    return scratch[0]!;
  }
  align8(): void {
    this.at += (8 - ((this.bytes.byteOffset + this.at) % 8)) % 8;
  }
  string(): string {
    const n = this.u32();
    const s = utf8(this.bytes, this.at, this.at + n);
    this.at += n;
    return s;
  }
}

/** A typed array's values as a plain array (a loop: `Array.from` goes through the iterator protocol, several times slower). */
export function numbers(values: Float32Array | Float64Array): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  return out;
}

const decoder = new TextDecoder();

/** UTF-8 bytes `[start, end)` as a string; short ASCII without a call into C++ (the common case of keys and codes). */
export function utf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 16) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) return decoder.decode(bytes.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return decoder.decode(bytes.subarray(start, end));
}

export function writePlain(out: ByteWriter, value: unknown): void {
  switch (typeof value) {
    case 'undefined':
      return out.u8(Tag.Undefined);
    case 'boolean':
      return out.u8(value ? Tag.True : Tag.False);
    case 'number':
      if ((value | 0) === value && !Object.is(value, -0)) {
        out.u8(Tag.Int32);
        return out.i32(value);
      }
      out.u8(Tag.Float64);
      return out.f64(value);
    case 'bigint':
      out.u8(Tag.BigInt);
      return out.string(value.toString());
    case 'string':
      out.u8(Tag.String);
      return out.string(value);
    case 'object': {
      if (value === null) return out.u8(Tag.Null);
      if (Array.isArray(value) && isFloat32s(value)) {
        out.u8(Tag.Float32s);
        out.u32(value.length);
        return out.raw(Float32Array.from(value as number[]));
      }
      if (Array.isArray(value)) {
        out.u8(Tag.Array);
        out.u32(value.length);
        for (const item of value as unknown[]) writePlain(out, item);
        return;
      }
      if (Object.getPrototypeOf(value) === Object.prototype) {
        const keys = Object.keys(value);
        out.u8(Tag.Object);
        out.u32(keys.length);
        for (const key of keys) {
          const known = KNOWN_KEY_INDEX.get(key);
          out.u8(known ?? OTHER_KEY);
          if (known === undefined) out.string(key);
          writePlain(out, (value as Record<string, unknown>)[key]);
        }
        return;
      }
    }
  }
  throw new AdapterError('ADAPTER_FAILED', `cannot store a ${Object.prototype.toString.call(value)} in an accumulator snapshot: snapshots are plain data (numbers, strings, booleans, bigints, null, arrays, objects)`);
}

export function readPlain(input: ByteReader): unknown {
  const tag = input.u8() as Tag;
  switch (tag) {
    case Tag.Null:
      return null;
    case Tag.Undefined:
      return undefined;
    case Tag.False:
      return false;
    case Tag.True:
      return true;
    case Tag.Int32:
      return input.i32();
    case Tag.Float64:
      return input.f64();
    case Tag.BigInt:
      return BigInt(input.string());
    case Tag.String:
      return input.string();
    case Tag.Array: {
      const n = input.u32();
      const items = new Array<unknown>(n);
      for (let i = 0; i < n; i++) items[i] = readPlain(input);
      return items;
    }
    case Tag.Float32s: {
      const n = input.u32();
      // A copy (a Buffer's slice would be a view): the values need not start at a multiple of 4.
      const values = new Float32Array(new Uint8Array(input.bytes.subarray(input.at, input.at + n * 4)).buffer);
      input.at += n * 4;
      return numbers(values);
    }
    case Tag.Object: {
      const n = input.u32();
      const object: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const known = input.u8();
        const key = known === OTHER_KEY ? input.string() : KNOWN_KEYS[known]!;
        // defineProperty: a key named "__proto__" is data, not the prototype.
        if (known === OTHER_KEY) Object.defineProperty(object, key, { value: readPlain(input), enumerable: true, writable: true, configurable: true });
        else object[key] = readPlain(input);
      }
      return object;
    }
  }
  throw new AdapterError('ADAPTER_FAILED', `corrupt entity state in the online store: unknown snapshot tag ${String(tag)} at byte ${input.at - 1}; rematerialize the view`);
}
