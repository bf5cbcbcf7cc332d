import { BIGINT, DOUBLE, DuckDBArrayVector, DuckDBBooleanVector, DuckDBDataChunk, DuckDBDoubleVector, DuckDBListVector, DuckDBVarCharVector, FLOAT, listValue, VARCHAR, type DuckDBType, type DuckDBValue, type DuckDBVector } from '@duckdb/node-api';
import type { AppendColumn } from './sql-engine.js';

// How the DuckDB engine reads and fills vectors: column readers for result chunks, and data
// chunks built from appended columns. The fast paths read private fields of `@duckdb/node-api`'s
// vectors, with its public methods as the fallback.

export const LIST_ELEMENT: Readonly<Record<'FLOAT' | 'DOUBLE' | 'BIGINT' | 'VARCHAR', DuckDBType>> = { FLOAT, DOUBLE, BIGINT, VARCHAR };

/** A list's items as a plain array: BIGINT items as numbers where exact, bigints beyond 2^53. */
function listItems(items: readonly unknown[]): unknown[] {
  const out = new Array<unknown>(items.length);
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    out[i] = typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : v;
  }
  return out;
}

/**
 * The parts of a DOUBLE vector that `@duckdb/node-api` keeps private: its values and its validity
 * words (null: all valid). Read and written directly, they cost a typed-array access per value
 * instead of a call and BigInt arithmetic; absent in another version of the library, the public
 * per-item methods are used.
 */
interface DoubleVectorParts {
  readonly items: Float64Array;
  readonly validity: { data: BigUint64Array | null; offset: number };
  flush(): void;
}

export function doubleParts(vector: DuckDBVector): DoubleVectorParts | undefined {
  const parts = vector as unknown as Partial<DoubleVectorParts>;
  return vector instanceof DuckDBDoubleVector && parts.items instanceof Float64Array && parts.validity !== undefined && 'data' in parts.validity ? (parts as DoubleVectorParts) : undefined;
}

/** A DOUBLE column's reader straight from its values and validity bits (32-bit words: no BigInt). */
function doubleReader(parts: DoubleVectorParts): { get(row: number): number | null } {
  const { items } = parts;
  const { data, offset } = parts.validity;
  if (data === null) return { get: (row: number) => items[row]! };
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  return { get: (row: number) => { const bit = offset + row; return (words[bit >>> 5]! >>> (bit & 31)) & 1 ? items[row]! : null; } };
}

/** Fills a DOUBLE vector of a new chunk with `values[start, start + size)`, NaN as NULL. */
function setDoubles(chunk: DuckDBDataChunk, c: number, values: Float64Array, start: number, size: number): void {
  const parts = doubleParts(chunk.getColumnVector(c));
  if (parts === undefined || parts.items.length !== size) {
    const plain: (number | null)[] = new Array(size);
    for (let r = 0; r < size; r++) plain[r] = Number.isNaN(values[start + r]) ? null : values[start + r]!;
    chunk.setColumnValues(c, plain);
    return;
  }
  parts.items.set(values.subarray(start, start + size));
  let words: Uint32Array | undefined;
  for (let r = 0; r < size; r++) {
    if (values[start + r] === values[start + r]) continue;
    if (words === undefined) {
      parts.validity.data = new BigUint64Array(Math.ceil(size / 64)).fill(0xffffffffffffffffn);
      parts.validity.offset = 0;
      words = new Uint32Array(parts.validity.data.buffer);
    }
    words[r >>> 5] = words[r >>> 5]! & ~(1 << (r & 31));
  }
  parts.flush();
}

/** The private parts of a VARCHAR vector: its 16-byte string entries and its validity (see `DoubleVectorParts`). */
interface TextVectorParts {
  readonly dataView: DataView;
  readonly validity: { data: BigUint64Array | null; offset: number };
}

function textParts(vector: DuckDBVector): TextVectorParts | undefined {
  const parts = vector as unknown as Partial<TextVectorParts>;
  return vector instanceof DuckDBVarCharVector && parts.dataView instanceof DataView && parts.validity !== undefined && 'data' in parts.validity ? (parts as TextVectorParts) : undefined;
}

/**
 * A VARCHAR column's reader: a string of at most 12 bytes is stored inside its entry (length,
 * then the bytes); when they are all ASCII, its characters are those bytes, read without a
 * `TextDecoder` call (the per-value cost of a short key or category). Others as DuckDB decodes them.
 */
function textReader(vector: DuckDBVector, parts: TextVectorParts): { get(row: number): unknown } {
  const { dataView } = parts;
  const bytes = new Uint8Array(dataView.buffer, dataView.byteOffset, dataView.byteLength);
  const { data, offset } = parts.validity;
  const words = data === null ? undefined : new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  return {
    get: (row: number) => {
      if (words !== undefined) {
        const bit = offset + row;
        if (((words[bit >>> 5]! >>> (bit & 31)) & 1) === 0) return null;
      }
      const at = row * 16;
      const length = dataView.getUint32(at, true);
      if (length > 12) return vector.getItem(row);
      let text = '';
      for (let i = at + 4; i < at + 4 + length; i++) {
        const byte = bytes[i]!;
        if (byte >= 0x80) return vector.getItem(row);
        text += String.fromCharCode(byte);
      }
      return text;
    },
  };
}

/**
 * The first of a BOOLEAN vector's first `rowCount` items that is true, or -1 (NULL is not true).
 * Searches its bytes natively (`indexOf`) where `@duckdb/node-api` exposes them, else item by item.
 */
export function firstTrue(vector: DuckDBVector, rowCount: number): number {
  const view = (vector as unknown as { dataView?: unknown }).dataView;
  if (!(vector instanceof DuckDBBooleanVector) || !(view instanceof DataView) || view.byteLength < rowCount) {
    for (let r = 0; r < rowCount; r++) if (vector.getItem(r) === true) return r;
    return -1;
  }
  const bytes = new Uint8Array(view.buffer, view.byteOffset, rowCount);
  // A NULL's byte is undefined: the item decides.
  for (let r = bytes.indexOf(1); r >= 0; r = bytes.indexOf(1, r + 1)) if (vector.getItem(r) === true) return r;
  return -1;
}

/** A chunk column's reader: LIST and ARRAY values as plain arrays (see `ColumnChunk`), others as DuckDB gives them. */
export function columnReader(vector: DuckDBVector): { get(row: number): unknown } {
  if (vector instanceof DuckDBListVector || vector instanceof DuckDBArrayVector) {
    return { get: (row: number) => { const list = vector.getItem(row); return list === null ? null : listItems(list.items); } };
  }
  const parts = doubleParts(vector);
  if (parts !== undefined) return doubleReader(parts);
  const text = textParts(vector);
  if (text !== undefined) return textReader(vector, text);
  return { get: (row: number) => vector.getItem(row) };
}

/** Rows `[start, start + size)` of `columns` as one DuckDB chunk (at most 2,048 rows, a vector's size): filled column by column, the fast path. */
export function dataChunk(types: readonly DuckDBType[], columns: readonly AppendColumn[], start: number, size: number): DuckDBDataChunk {
  const chunk = DuckDBDataChunk.create([...types], size);
  columns.forEach((column, c) => {
    if (column.type === 'double') {
      setDoubles(chunk, c, column.values, start, size);
      return;
    }
    if (column.type === 'list') {
      const bigint = column.element === 'BIGINT';
      const values = column.values.slice(start, start + size).map((list) => (list === null ? null : listValue(bigint ? list.map((v) => BigInt(v as number | bigint)) : (list as DuckDBValue[]))));
      chunk.setColumnValues(c, values);
      return;
    }
    const slice = column.values.slice(start, start + size);
    chunk.setColumnValues(c, column.type === 'bigint' ? (slice as readonly number[]).map((v) => BigInt(v)) : (slice as readonly (string | null)[]));
  });
  return chunk;
}
