import { COLUMN_TYPES, type ColumnType, type ListType, type ScalarType } from './types.js';

/** The element type of a vector or list column. */
export type ElementType = 'float32' | 'float64' | 'int64' | 'string';

/** A vector or list column type, taken apart: its elements and, for a vector, its length. */
export interface ListShape {
  readonly element: ElementType;
  /** A vector's fixed length; undefined for a list of any length. */
  readonly length?: number;
}

const LIST_TYPES: readonly ListType[] = ['string[]', 'int64[]', 'float64[]'];
const VECTOR = /^(float32|float64)\[(.*)\]$/;

/**
 * The shape of a vector (`float32[768]`) or list (`string[]`) type; undefined for a scalar type
 * or a string that is not a column type.
 *
 * @example
 * listShape('float32[768]'); // { element: 'float32', length: 768 }
 * listShape('string[]'); // { element: 'string' }
 */
export function listShape(type: string): ListShape | undefined {
  if ((LIST_TYPES as readonly string[]).includes(type)) return { element: type.slice(0, -2) as ElementType };
  const vector = VECTOR.exec(type);
  if (!vector || !/^[1-9][0-9]{0,8}$/.test(vector[2]!)) return undefined;
  return { element: vector[1] as ElementType, length: Number(vector[2]) };
}

/** Whether a column type holds vectors or lists. */
export function isListType(type: string): boolean {
  return listShape(type) !== undefined;
}

/**
 * Why `type` is not a column type (undefined when it is one): names the types and, for a vector
 * with a bad length, that N must be a positive integer.
 *
 * @example
 * columnTypeProblem('float32[0]'); // '... N must be a positive integer ...'
 */
export function columnTypeProblem(type: unknown): string | undefined {
  if (typeof type === 'string' && ((COLUMN_TYPES as readonly string[]).includes(type) || isListType(type))) return undefined;
  const vector = typeof type === 'string' ? VECTOR.exec(type) : null;
  if (vector) return `the length of a vector type ${vector[1]}[N] must be a positive integer (at most 999999999), e.g. "${vector[1]}[768]"`;
  return `use one of ${COLUMN_TYPES.join(', ')}, float32[N], float64[N] (vectors of N values), string[], int64[], float64[] (lists)`;
}

/** The list type whose elements are a scalar column's values (what `lastN` serves); undefined when there is none. */
export function listOf(type: ColumnType): ListType | undefined {
  const list = `${type}[]`;
  return (LIST_TYPES as readonly string[]).includes(list) ? (list as ListType) : undefined;
}

/** The scalar types `lastN` can collect. */
export const LAST_N_TYPES: readonly ScalarType[] = ['string', 'int64', 'float64'];

/**
 * A type's name with its indefinite article, the one rule every message uses that says what a
 * value is or is not (a column type, an expression's type, a JavaScript type, `ISO time`):
 * `an int64`, `a float64`, `an ISO time`, `an undefined`. By the first letter, as the names are read.
 *
 * @example
 * aColumnType('int64'); // 'an int64'
 */
export function aColumnType(type: string): string {
  return `${/^[aeiou]/i.test(type) ? 'an' : 'a'} ${type}`;
}
