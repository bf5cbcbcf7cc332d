import { AdapterError } from '../../../errors.js';
import type { ListValue } from '../../../processing/aggregations/index.js';
import type { BaseState, EntityState, EntityTiles, EventColumn, SlotTiles } from '../../../processing/entity-state.js';
import { ByteReader, ByteWriter, numbers, readPlain, writePlain } from './plain-data-codec.js';
import { StoredTextColumn, storedDictionaryBytes, writeStoredDictionary } from './stored-text-column.js';

/** "SLS1", little-endian: the layout's version is its last byte. */
const MAGIC = 0x31534c53;
/** "SLS2": the same, followed by tiles (a state without tiles is still written as "SLS1"). */
const MAGIC_TILES = 0x32534c53;

const enum Kind {
  Number = 0,
  Text = 1,
  /** int64 whose values are all within 2^53: `lo` is null. */
  Int64 = 2,
  Int64WithRest = 3,
  /** Vectors and lists: per event one list (see `writeList`). */
  List = 4,
}

const enum ListTag {
  Null = 0,
  /** Numbers that are all float32 values: 4 bytes each, exact (a float32 widens to one double). */
  Float32 = 1,
  Float64 = 2,
  /** Strings, int64s (bigint beyond 2^53) or a mix: plain data. */
  Plain = 3,
}

function listTag(list: readonly unknown[]): ListTag {
  let float32 = true;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (typeof v !== 'number') return ListTag.Plain;
    if (float32 && Math.fround(v) !== v) float32 = false;
  }
  return float32 ? ListTag.Float32 : ListTag.Float64;
}

/** One list: its tag, then a float block (u32 length, aligned to 8, the values) or plain data. */
function writeList(out: ByteWriter, list: readonly unknown[] | null): void {
  if (list === null) return out.u8(ListTag.Null);
  const tag = listTag(list);
  out.u8(tag);
  if (tag === ListTag.Plain) return writePlain(out, list);
  out.u32(list.length);
  out.align8();
  out.raw(tag === ListTag.Float32 ? Float32Array.from(list as number[]) : Float64Array.from(list as number[]));
}

function readList(input: ByteReader, bytes: Uint8Array): readonly unknown[] | null {
  const tag = input.u8() as ListTag;
  if (tag === ListTag.Null) return null;
  if (tag === ListTag.Plain) return readPlain(input) as unknown[];
  const n = input.u32();
  input.align8();
  const size = tag === ListTag.Float32 ? 4 : 8;
  const view = tag === ListTag.Float32 ? new Float32Array(bytes.buffer, bytes.byteOffset + input.at, n) : new Float64Array(bytes.buffer, bytes.byteOffset + input.at, n);
  input.at += n * size;
  return numbers(view);
}

/**
 * The stored form of an `EntityState`, laid out so a reader views it in place:
 *
 * ```
 * u32 magic "SLS1" | u32 n (events) | f64 horizon | u32 columns | u32 base slots | u8 kind per column
 * (pad to 8) f64[n] ts
 * per column: number f64[n] | int64 f64[n] hi (+ f64[n] lo) | text i32[n] codes, then its dictionary
 *   (layout in stored-text-column.ts, `writeStoredDictionary`), pad to 8 |
 *   list: per event u8 0 (null) | u8 1 float32s or 2 float64s (u32 length, pad to 8, the values) |
 *   u8 3 and the list as plain data; each float64 block starting at a multiple of 8
 * per base slot: u8 0 (none) | u8 1, f64 ts, the snapshot as plain data (see plain-data-codec)
 * "SLS2" only: f64 tiles' asOf | u32 slots | per slot: u8 0 (none) | u8 1, u32 k (tiles), f64[k]
 *   starts, f64[k] newest, k snapshots as plain data
 * ```
 *
 * Float64 columns keep every bit (NaN nulls, -0). Little-endian, like every platform Node runs on
 * in practice; a big-endian reader would have to swap.
 *
 * @example
 * const bytes = encodeEntityState(state); // a Buffer
 * decodeEntityState(bytes); // the same state, its arrays viewing `bytes`
 */
export function encodeEntityState(state: EntityState): Buffer {
  const n = state.ts.length;
  const out = new ByteWriter(64 + n * 8 * (1 + state.columns.length));
  out.u32(state.tiles === undefined ? MAGIC : MAGIC_TILES);
  out.u32(n);
  out.f64(state.horizon);
  out.u32(state.columns.length);
  out.u32(state.base.length);
  for (const column of state.columns) {
    const length = column instanceof Float64Array ? column.length : 'codes' in column ? column.codes.length : 'lists' in column ? column.lists.length : column.hi.length;
    if (length !== n || ('lo' in column && column.lo !== null && column.lo.length !== n)) {
      throw new AdapterError('ADAPTER_FAILED', `cannot store an entity state whose column has ${length} values for ${n} events: every column holds one value per event`);
    }
    out.u8(kindOf(column));
  }
  out.align8();
  out.raw(state.ts);
  for (const column of state.columns) {
    if (column instanceof Float64Array) out.raw(column);
    else if ('codes' in column) {
      out.raw(column.codes);
      writeStoredDictionary(out, column.dict);
      out.align8();
    } else if ('lists' in column) {
      for (const list of column.lists) writeList(out, list);
      out.align8();
    } else {
      out.raw(column.hi);
      if (column.lo !== null) out.raw(column.lo);
    }
  }
  for (const base of state.base) {
    if (base === null) {
      out.u8(0);
      continue;
    }
    out.u8(1);
    out.f64(base.ts);
    writePlain(out, base.state);
  }
  if (state.tiles !== undefined) writeTiles(out, state.tiles);
  return out.bytes.subarray(0, out.at);
}

function writeTiles(out: ByteWriter, tiles: EntityTiles): void {
  out.f64(tiles.asOf);
  out.u32(tiles.slots.length);
  for (const slot of tiles.slots) {
    if (slot === null) {
      out.u8(0);
      continue;
    }
    out.u8(1);
    out.u32(slot.starts.length);
    for (const start of slot.starts) out.f64(start);
    for (const newest of slot.newest) out.f64(newest);
    for (const state of slot.states) writePlain(out, state);
  }
}

function readTiles(input: ByteReader): EntityTiles {
  const asOf = input.f64();
  const slots = new Array<SlotTiles | null>(input.u32());
  for (let s = 0; s < slots.length; s++) {
    if (input.u8() === 0) {
      slots[s] = null;
      continue;
    }
    const k = input.u32();
    const starts = new Float64Array(k);
    const newest = new Float64Array(k);
    for (let i = 0; i < k; i++) starts[i] = input.f64();
    for (let i = 0; i < k; i++) newest[i] = input.f64();
    const states = new Array<unknown>(k);
    for (let i = 0; i < k; i++) states[i] = readPlain(input);
    slots[s] = { starts, newest, states };
  }
  return { asOf, slots };
}

function kindOf(column: EventColumn): Kind {
  if (column instanceof Float64Array) return Kind.Number;
  if ('codes' in column) return Kind.Text;
  if ('lists' in column) return Kind.List;
  return column.lo === null ? Kind.Int64 : Kind.Int64WithRest;
}

/** Whether `bytes` hold an entity state in this layout (rather than an earlier one). */
export function isEncodedEntityState(bytes: Uint8Array): boolean {
  return bytes.length >= 24 && bytes[0] === 0x53 && bytes[1] === 0x4c && bytes[2] === 0x53 && (bytes[3] === 0x31 || bytes[3] === 0x32);
}

/** `n` float64s viewed in place at the reader's position (a function, not a closure made per state decoded). */
function float64sAt(input: ByteReader, bytes: Uint8Array, n: number): Float64Array {
  if (n === 0) return NO_EVENTS;
  const array = new Float64Array(bytes.buffer, bytes.byteOffset + input.at, n);
  input.at += n * 8;
  return array;
}

// Shared by every state without events (empty arrays cannot be written to).
const NO_EVENTS = new Float64Array(0);
const NO_CODES = new Int32Array(0);

/**
 * Reads a state written by {@link encodeEntityState}. Its arrays view `bytes` in place (copied
 * once first if `bytes` does not start at a multiple of 8), so `bytes` must not be reused while
 * the state is in use. Throws an `AdapterError` for bytes in another layout.
 *
 * @example
 * const state = decodeEntityState(encodeEntityState(state));
 */
export function decodeEntityState(bytes: Uint8Array): EntityState {
  if (!isEncodedEntityState(bytes)) throw new AdapterError('ADAPTER_FAILED', 'an entity state in the online store is not in a layout this version reads; rematerialize the view');
  if (bytes.byteOffset % 8 !== 0) bytes = new Uint8Array(bytes); // a copy (Buffer's slice would not be)
  const input = new ByteReader(bytes);
  input.at = 4;
  const n = input.u32();
  const horizon = input.f64();
  const columnCount = input.u32();
  const baseCount = input.u32();
  input.at = 24 + columnCount;
  input.align8();
  const buffer = bytes.buffer;
  const ts = float64sAt(input, bytes, n);
  const columns = new Array<EventColumn>(columnCount);
  for (let c = 0; c < columnCount; c++) {
    const kind = bytes[24 + c] as Kind;
    if (kind === Kind.Number) columns[c] = float64sAt(input, bytes, n);
    else if (kind === Kind.Text) {
      const codes = n === 0 ? NO_CODES : new Int32Array(buffer, bytes.byteOffset + input.at, n);
      input.at += n * 4;
      // The dictionary's strings are made when first used (see StoredTextColumn).
      columns[c] = new StoredTextColumn(codes, bytes, input.at);
      input.at += storedDictionaryBytes(bytes, input.at);
      input.align8();
    } else if (kind === Kind.List) {
      const lists = new Array<ListValue | null>(n);
      for (let i = 0; i < n; i++) lists[i] = readList(input, bytes) as ListValue | null;
      input.align8();
      columns[c] = { lists };
    } else {
      const hi = float64sAt(input, bytes, n);
      columns[c] = { hi, lo: kind === Kind.Int64WithRest ? float64sAt(input, bytes, n) : null };
    }
  }
  const base = new Array<BaseState | null>(baseCount);
  for (let s = 0; s < baseCount; s++) {
    if (input.u8() === 0) base[s] = null;
    else {
      const at = input.f64();
      base[s] = { state: readPlain(input), ts: at };
    }
  }
  if (bytes[3] === 0x32) return { horizon, base, ts, columns, tiles: readTiles(input) };
  return { horizon, base, ts, columns };
}
