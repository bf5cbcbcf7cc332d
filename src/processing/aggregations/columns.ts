import { isListType, type ColumnType } from '../../definitions/index.js';

/** An element of a vector or list: a number (float32 values widened exactly), a string, or an int64 (bigint beyond 2^53). */
export type ListElement = number | string | bigint;
/** A vector or list value: a plain array, never mutated once made. */
export type ListValue = readonly ListElement[];

/**
 * A served or computed value: one value of a column, or a vector or list of them. int64 values
 * beyond 2^53 are bigint, so they stay exact.
 */
export type Scalar = string | number | bigint | boolean | null | ListValue;

/** float64, bool (1/0) and timestamp (epoch ms) values; NaN is null (ingestion rejects non-finite numbers). */
export type NumberColumn = Float64Array;
/**
 * Text, dictionary-coded: `codes[i]` indexes `dict`, -1 for null. `textOf(code)`, when present,
 * is `dict[code]` without making the other strings (a column read from storage, whose dictionary
 * is decoded on first use).
 */
export interface TextColumn {
  readonly dict: readonly string[];
  readonly codes: Int32Array;
  readonly textOf?: (code: number) => string;
}
/**
 * int64, exact: the value is `hi + lo`, with `hi` the nearest float64 and `lo` the (small,
 * exact) rest; `hi` NaN for null. `lo` is null when every rest is 0 (values within 2^53).
 */
export interface Int64Column {
  readonly hi: Float64Array;
  readonly lo: Float64Array | null;
}
/** Vectors and lists: one array (or null) per event. */
export interface ListColumn {
  readonly lists: (ListValue | null)[];
}
/** One event column, columnar. */
export type EventColumn = NumberColumn | TextColumn | Int64Column | ListColumn;

/** Events of one entity in (ts, ingestion) order, column by column. */
export interface EventBlock {
  readonly ts: Float64Array;
  readonly columns: readonly EventColumn[];
}

/** How a column of a schema type is held: the layout every path reads. */
export type ColumnKind = 'number' | 'text' | 'int64' | 'bool' | 'list';

export function columnKind(type: ColumnType): ColumnKind {
  if (isListType(type)) return 'list';
  return type === 'string' ? 'text' : type === 'int64' ? 'int64' : type === 'bool' ? 'bool' : 'number';
}

export function isListColumn(column: EventColumn): column is ListColumn {
  return (column as ListColumn).lists !== undefined;
}

export function isTextColumn(column: EventColumn): column is TextColumn {
  return (column as TextColumn).codes !== undefined;
}

export function isInt64Column(column: EventColumn): column is Int64Column {
  return (column as Int64Column).hi !== undefined;
}

export function isNullAt(column: EventColumn, i: number): boolean {
  if (column instanceof Float64Array) return Number.isNaN(column[i]!);
  if (isTextColumn(column)) return column.codes[i]! < 0;
  if (isListColumn(column)) return column.lists[i] === null;
  return Number.isNaN(column.hi[i]!);
}

/** An exact int64 from its two float64 halves: a number when it is a safe integer, else a bigint. */
export function int64Value(hi: number, lo: number): number | bigint {
  if (lo === 0 && Number.isSafeInteger(hi)) return hi;
  return BigInt(hi) + BigInt(lo);
}

/** The value of event `i` as served: numbers, booleans for `bool`, strings, exact int64. */
export function scalarAt(column: EventColumn, i: number, kind: ColumnKind): Scalar {
  if (column instanceof Float64Array) {
    const v = column[i]!;
    return Number.isNaN(v) ? null : kind === 'bool' ? v === 1 : v;
  }
  if (isTextColumn(column)) {
    const code = column.codes[i]!;
    if (code < 0) return null;
    return column.textOf !== undefined ? column.textOf(code) : column.dict[code]!;
  }
  if (isListColumn(column)) return column.lists[i]!;
  const hi = column.hi[i]!;
  return Number.isNaN(hi) ? null : int64Value(hi, column.lo?.[i] ?? 0);
}

/**
 * Orders strings by Unicode code point (as UTF-8 bytes and SQL engines do), not by UTF-16 code
 * unit (JavaScript's `<`): they differ only where a surrogate pair meets U+E000..U+FFFF.
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..U+DFFF) start code points above U+FFFF: move them past U+E000..U+FFFF.
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}
