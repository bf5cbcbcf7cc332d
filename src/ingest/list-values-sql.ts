import { aColumnType, type ElementType, type ListShape } from '../definitions/index.js';
import { ident, literal } from '../storage/engine/sql-engine.js';

/** What a reason says in place of the value of a classified column: its value never reaches a reason, a log line or an error. */
export const UNQUOTED_VALUE = 'its value (classified, not shown)';

/** The SQL type of a vector's or list's elements. */
export const ELEMENT_SQL: Readonly<Record<ElementType, string>> = { float32: 'FLOAT', float64: 'DOUBLE', int64: 'BIGINT', string: 'VARCHAR' };

/** The JSON types an element may have: numbers for floats, integers for int64, strings for strings. */
const ELEMENT_JSON: Readonly<Record<ElementType, string>> = {
  float32: `('BIGINT', 'UBIGINT', 'DOUBLE')`,
  float64: `('BIGINT', 'UBIGINT', 'DOUBLE')`,
  int64: `('BIGINT', 'UBIGINT')`,
  string: `('VARCHAR')`,
};

/**
 * Whether element `x` (a JSON value) is a valid element: of the right JSON type, and for numbers
 * within the element type's range (a float32 beyond ±3.4e38, an int64 beyond 2^63, a float64
 * beyond ±1.8e308 are not; JSON has no NaN or Infinity).
 */
function elementOkSql(element: ElementType): string {
  const typed = element === 'string' ? 'true' : `TRY_CAST(x AS ${ELEMENT_SQL[element]}) IS NOT NULL`;
  return `x -> json_type(x) IN ${ELEMENT_JSON[element]} AND ${typed}`;
}

/** The 1-based position of the first invalid element of the JSON array text `c`, NULL when all are valid. */
function badElementSql(c: string, element: ElementType): string {
  return `list_position(list_transform(json_extract(${c}, '$[*]'), ${elementOkSql(element)}), false)`;
}

const isArraySql = (c: string): string => `(json_valid(${c}) AND json_type(${c}) = 'ARRAY')`;

/** A JSON number (`NUMBER`) and an integer (`INTEGER`): what the elements of numeric vectors and lists are written as. */
const NUMBER = `-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?`;
const INTEGER = `-?(0|[1-9][0-9]*)`;
const arrayOf = (element: string): string => literal(`^\\s*\\[\\s*(${element}\\s*(,\\s*${element}\\s*)*)?\\]\\s*$`);

/**
 * Whether the text `c` is a valid value of the type, as one condition. Numbers set-based and
 * fast: one pattern over the text (a JSON array of numbers: `from_json` alone would read `"2"`
 * and `true` as numbers and round `1.5` to an int64), then the typed parse, where an out-of-range
 * number is NULL, so the value is valid when its non-NULL elements are all of them (measured: a
 * third of checking each element's JSON type). Strings element by element ({@link badElementSql}).
 */
function validListSql(c: string, shape: ListShape): string {
  if (shape.element === 'string') {
    const length = shape.length === undefined ? '' : ` AND json_array_length(${c}) = ${shape.length}`;
    return `(${isArraySql(c)}${length} AND ${badElementSql(c, shape.element)} IS NULL)`;
  }
  const parsed = `list_count(from_json(${c}, '["${ELEMENT_SQL[shape.element]}"]'))`;
  const counted = shape.length === undefined ? `${parsed} = json_array_length(${c})` : `json_array_length(${c}) = ${shape.length} AND ${parsed} = ${shape.length}`;
  return `(regexp_full_match(${c}, ${arrayOf(shape.element === 'int64' ? INTEGER : NUMBER)}) AND ${counted})`;
}

/**
 * The typed list (`FLOAT[]`, `DOUBLE[]`, `BIGINT[]`, `VARCHAR[]`) of a vector or list column held
 * as JSON array text (as JSON lines and push bodies give it, and as ingest writes a Parquet list);
 * NULL when the text is not a valid value of the type (see {@link listProblemSql}). A float
 * element is its value rounded to the element type (float32: the nearest float32), and -0 is
 * stored as 0: DuckDB's Parquet writer merges -0 and 0 in a column's dictionary, so a sign of
 * zero could not survive the lake, and every path must give what the lake gives.
 */
export function parsedListSql(column: string, shape: ListShape): string {
  const c = ident(column);
  const type = ELEMENT_SQL[shape.element];
  const parsed = `from_json(${c}, '["${type}"]')`;
  const value = shape.element === 'float32' || shape.element === 'float64' ? `list_transform(${parsed}, x -> x + 0::${type})` : parsed;
  return `(CASE WHEN ${validListSql(c, shape)} THEN ${value} END)`;
}

/**
 * Why a vector or list column's JSON text is not a valid value, NULL when it is (or is null): not
 * a JSON array, a vector of the wrong length, or an element of the wrong type or out of range
 * (null elements included), naming the column, the position and the element (not the value of a
 * `classified` column). Valid values
 * (nearly all) take only the fast check; the reasons are worked out for the others.
 */
export function listProblemSql(column: string, shape: ListShape, classified = false): string {
  const c = ident(column);
  const name = shape.length === undefined ? `${shape.element}[]` : `${shape.element}[${shape.length}]`;
  const prefix = literal(`column "${column}": `);
  const shown = classified ? literal(UNQUOTED_VALUE) : `to_json(CASE WHEN strlen(${c}) > 40 THEN left(${c}, 37) || '...' ELSE ${c} END)`;
  const bad = badElementSql(c, shape.element);
  const element = classified ? literal('not shown') : `json_extract(${c}, '$[' || (${bad} - 1) || ']')`;
  const lengthCheck = shape.length === undefined
    ? ''
    : `WHEN json_array_length(${c}) <> ${shape.length} THEN ${prefix} || ${literal(`${aColumnType(name)} vector needs ${shape.length} values, found `)} || json_array_length(${c}) `;
  const what = shape.element === 'string' ? 'a string' : shape.element === 'int64' ? 'an int64 (a whole number within ±2^63)' : `a finite ${shape.element} number`;
  return (
    `CASE WHEN ${c} IS NULL OR ${validListSql(c, shape)} THEN NULL ` +
    `WHEN NOT ${isArraySql(c)} THEN ${prefix} || ${shown} || ${literal(` is not a JSON array; ${aColumnType(name)} value is written like ${example(shape)}`)} ` +
    lengthCheck +
    `ELSE coalesce(${prefix} || 'element ' || ${bad} || ' (' || ${element} || ${literal(`) is not ${what}`)}, ${literal(`column "${column}": not a valid ${name} value`)}) END`
  );
}

function example(shape: ListShape): string {
  return shape.element === 'string' ? '["a", "b"]' : shape.element === 'int64' ? '[1, 2]' : '[0.25, -1.5]';
}
