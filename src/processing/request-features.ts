import type { ColumnType, RequestFeatureFunction, RequestView, RequestViewSpec, ScalarType } from '../definitions/index.js';
import { ValidationError } from '../errors.js';
import { REQUEST_INPUT } from '../definitions/index.js';
import type { Scalar } from './aggregations/index.js';
import { aColumnType, float64TextSql, int64TextSql, parseFloat64Text, parseInt64Text } from '../definitions/index.js';
import { parseTimestampText } from '../time/index.js';

/**
 * The one home of request views' runtime rules, used by serving and by dataset builds alike:
 * how a request value is read, how a view's function is called, and what result it may give.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const INTEGER_SQL_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT']);

/** An int64 as every path holds it: a number when it is a safe integer, else a bigint. */
export function int64Scalar(value: bigint): number | bigint {
  return value >= SAFE_MIN && value <= SAFE_MAX ? Number(value) : value;
}

/**
 * A request value of `type` as a request view's function receives it, or `undefined` when it is
 * not one: float64 a finite number; int64 a number that is a safe integer (`7.0` and `1e3` in
 * JSON are 7 and 1000), or int64 text (`parseInt64Text`: sign and digits, as file ingest reads
 * an int64; exact beyond 2^53, as a bigint); bool a boolean; string a string; timestamp epoch
 * milliseconds, a safe integer given as a number or as int64 text, or else ISO-8601 text (without
 * an offset: UTC; see `parseTimestampText`). {@link requestValueSql} is its twin for a dataset's
 * spine (timestamps: `spineTimestampSql`, the rule of every timestamp cell of a spine). Null is not a request value. A negative zero is read as 0.
 */
export function requestValue(raw: unknown, type: ColumnType): Scalar | undefined {
  switch (type) {
    case 'float64':
      // + 0 turns -0 into 0, as ingest stores float64 values (`parseFloat64Text`).
      return typeof raw === 'number' && Number.isFinite(raw) ? raw + 0 : undefined;
    case 'int64': {
      if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw + 0 : undefined;
      const value = typeof raw === 'bigint' ? raw : typeof raw === 'string' ? parseInt64Text(raw) : undefined;
      return value !== undefined && value >= INT64_MIN && value <= INT64_MAX ? int64Scalar(value) : undefined;
    }
    case 'bool':
      return typeof raw === 'boolean' ? raw : undefined;
    case 'string':
      return typeof raw === 'string' ? raw : undefined;
    case 'timestamp': {
      if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw + 0 : undefined;
      if (typeof raw !== 'string') return undefined;
      const integer = parseInt64Text(raw);
      if (integer === undefined) return parseTimestampText(raw);
      return integer >= SAFE_MIN && integer <= SAFE_MAX ? Number(integer) : undefined;
    }
  }
}

/** A double as an int64 request value: a whole number a double holds exactly (a safe integer), as `requestValue` reads a JSON number. */
const wholeNumberSql = (x: string) => `(CASE WHEN ${x} = trunc(${x}) AND abs(${x}) <= ${Number.MAX_SAFE_INTEGER} THEN CAST(${x} AS BIGINT) END)`;

/** The integer (BIGINT or NULL) of a spine cell `c` of SQL type `sqlType`, as `requestValue` reads an int64: text by `int64TextSql`, numbers by their value (a double or decimal when whole), a JSON value by its JSON type. */
export function int64CellSql(c: string, sqlType: string): string {
  if (INTEGER_SQL_TYPES.has(sqlType)) return `TRY_CAST(${c} AS BIGINT)`;
  if (sqlType === 'DOUBLE' || sqlType === 'FLOAT') return wholeNumberSql(c);
  if (sqlType.startsWith('DECIMAL')) return `(CASE WHEN ${c} = trunc(${c}) THEN TRY_CAST(${c} AS BIGINT) END)`;
  if (sqlType === 'VARCHAR') return int64TextSql(c);
  if (sqlType === 'JSON') {
    return `(CASE json_type(${c}) WHEN 'VARCHAR' THEN ${int64TextSql(`(${c} ->> '$')`)} WHEN 'BIGINT' THEN TRY_CAST(${c} AS BIGINT) WHEN 'UBIGINT' THEN TRY_CAST(${c} AS BIGINT) WHEN 'DOUBLE' THEN ${wholeNumberSql(`CAST(${c} AS DOUBLE)`)} END)`;
  }
  return 'CAST(NULL AS BIGINT)';
}

/** The text (VARCHAR or NULL) of a spine cell as a request's string: a text column's cell, a JSON string's own text (any other JSON value none); undefined for a column of another type (no cell of it is text). */
export function textCellSql(c: string, sqlType: string): string | undefined {
  if (sqlType === 'VARCHAR') return c;
  return sqlType === 'JSON' ? `(CASE WHEN json_type(${c}) = 'VARCHAR' THEN ${c} ->> '$' END)` : undefined;
}

const isNumericSql = (sqlType: string) => INTEGER_SQL_TYPES.has(sqlType) || sqlType === 'DOUBLE' || sqlType === 'FLOAT' || sqlType.startsWith('DECIMAL');

/** A number cell as a float64 request value: finite, -0 as 0 (a JSON number, as `JSON.parse` gives it a double). */
const finiteSql = (x: string) => `(CASE WHEN isfinite(CAST(${x} AS DOUBLE)) THEN CAST(${x} AS DOUBLE) + 0.0 END)`;

/**
 * A request value written as text (a `--request` argument, a CSV spine cell) as the JSON value a
 * request would send for it: a float64's number text (`parseFloat64Text`) as a number, a bool's
 * `true` or `false` (exactly, lowercase, as JSON writes them) as a boolean; anything else stays
 * text, which `requestValue` reads (int64, timestamp and string values are read from text) or
 * refuses (`yes` is no bool, `1_000` no float64, `""` never a 0).
 *
 * @example
 * requestValue(requestTextValue('12.5', 'float64'), 'float64'); // 12.5
 * requestValue(requestTextValue('TRUE', 'bool'), 'bool'); // undefined
 */
export function requestTextValue(text: string, type: ColumnType): unknown {
  if (type === 'float64') return parseFloat64Text(text) ?? text;
  if (type === 'bool' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/**
 * How a spine's cells stand for request values: `text` (CSV, which has no types: a cell is read
 * as `requestTextValue` reads a `--request` argument) or `typed` (JSONL and Parquet: a cell is
 * the JSON value it holds, read as `requestValue` reads a request's).
 */
export type SpineCells = 'text' | 'typed';

/**
 * The SQL twin of {@link requestValue} for a request field of `type` held in a spine cell `c`
 * whose SQL type (as the spine's reader gives it) is `sqlType`: NULL where `requestValue` refuses
 * the cell's online counterpart (see {@link SpineCells}). int64: text as a request's string; a
 * JSON number as a request's number (`7.0` is 7, `1.5` refused); a column of integers holds each
 * exactly, beyond 2^53 too (a request sends those as text). Timestamps are a spine's own rule,
 * one for its `ts` column and its request fields (`spineTimestampSql` in the dataset builder),
 * built on `int64CellSql` and `textCellSql`. float64:
 * CSV text by `float64TextSql`, else a number (a JSON string is none); bool: CSV `true`/`false`,
 * else a BOOLEAN or a JSON boolean; string: CSV text, else a VARCHAR or a JSON string (a number,
 * a boolean or an object is no string, as online: never cast to text).
 */
export function requestValueSql(c: string, type: Exclude<ScalarType, 'timestamp'>, sqlType: string, cells: SpineCells): string {
  switch (type) {
    case 'float64':
      if (cells === 'text') return float64TextSql(c);
      if (isNumericSql(sqlType)) return finiteSql(c);
      return sqlType === 'JSON' ? `(CASE WHEN json_type(${c}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN ${finiteSql(c)} END)` : 'CAST(NULL AS DOUBLE)';
    case 'bool':
      if (cells === 'text') return `(CASE ${c} WHEN 'true' THEN true WHEN 'false' THEN false END)`;
      if (sqlType === 'BOOLEAN') return c;
      return sqlType === 'JSON' ? `(CASE WHEN json_type(${c}) = 'BOOLEAN' THEN CAST(${c} AS BOOLEAN) END)` : 'CAST(NULL AS BOOLEAN)';
    case 'string':
      return textCellSql(c, sqlType) ?? 'CAST(NULL AS VARCHAR)';
    case 'int64':
      return int64CellSql(c, sqlType);
  }
}

/** What the wrong result `value` is, for an ERROR's reason; undefined when `value` is a `type` (or null). */
function resultProblem(value: unknown, type: ColumnType): string | undefined {
  if (value === null) return undefined;
  if (value === undefined) return 'returned undefined; return null for no value';
  if (type === 'float64' && typeof value === 'number') return Number.isFinite(value) ? undefined : `returned ${value}, which no dataset column or JSON answer holds; return null instead`;
  // The value itself is never quoted: it may be computed from classified inputs (see `USER_CODE_ERRORS`).
  if (type === 'int64' && (typeof value === 'number' || typeof value === 'bigint')) {
    return requestValue(value, 'int64') === undefined ? `returned ${aColumnType(typeof value)} that is not an int64 (a safe integer, or a bigint within 64 bits)` : undefined;
  }
  if (type === 'timestamp' && typeof value === 'number') return Number.isSafeInteger(value) ? undefined : 'returned a number that is not a timestamp (integer epoch milliseconds)';
  const expected = type === 'bool' ? 'boolean' : type === 'string' ? 'string' : undefined;
  if (expected !== undefined && typeof value === expected) return undefined;
  return `returned ${aColumnType(typeof value)}, not ${aColumnType(type)}`;
}

/**
 * The rule for errors of user functions (request views): what they throw is never echoed, since
 * a message like `bad email alice@x.com` would carry a classified value into logs, HTTP
 * answers, dataset manifests and error texts. A reason names the error's class only (`threw
 * TypeError`); the message is kept apart (`RequestOutcome.thrown`) for a keyed-hash token
 * (`userErrorReason`), so equal messages can be told apart from different ones. No flag shows
 * the message: reproduce the failure with the function and the input in a test.
 */
export const USER_CODE_ERRORS = 'never echoed';

const CLASS_NAME = /^[A-Za-z_$][\w$]{0,63}$/;

/** The class of a thrown value, as a reason may name it: its `name` when it is an identifier, else what kind of value it is. */
function thrownClass(error: unknown): string {
  if (error instanceof Error) return CLASS_NAME.test(error.name) ? error.name : 'Error';
  return `${aColumnType(error === null ? 'null' : typeof error)} (not an Error)`;
}

/** Where one call's outcome goes (reused: no allocation per call): the value, or null and why it failed. */
export interface RequestOutcome {
  value: Scalar;
  /** Why it failed, without any value or thrown message (see `USER_CODE_ERRORS`). */
  error: string | undefined;
  /** What the function threw, as text: only ever turned into a keyed-hash token (`userErrorReason`), never logged or returned. */
  thrown?: string | undefined;
}

/**
 * Calls a request feature's function on one input and checks its result against the declared
 * `type`: a value of that type (int64 as a number or, beyond 2^53, a bigint) or null. A function
 * that throws, or returns anything else, gives null and the reason in `out.error`.
 */
export function callRequestFeature(fn: RequestFeatureFunction, input: Parameters<RequestFeatureFunction>[0], type: ColumnType, out: RequestOutcome): void {
  let result: unknown;
  try {
    result = fn(input);
  } catch (error) {
    out.value = null;
    out.error = `threw ${thrownClass(error)}`;
    out.thrown = error instanceof Error ? error.message : String(error);
    return;
  }
  out.thrown = undefined;
  const problem = resultProblem(result, type);
  if (problem !== undefined) {
    out.value = null;
    out.error = problem;
    return;
  }
  // A result of -0 is 0, as every stored value is: a dataset column would otherwise keep the sign the JSON answer drops.
  out.value = typeof result === 'bigint' ? int64Scalar(result) : typeof result === 'number' ? result + 0 : (result as Scalar);
  out.error = undefined;
}

/**
 * Builds a request view's function argument from a flat list of values: the request fields in
 * the view's order, then every feature of each input view in the view's feature order (see
 * `inputLayout`). Objects with a fixed set of keys get one hidden class: cheap on the serving path.
 */
export type InputBuilder = (values: readonly Scalar[]) => Parameters<RequestFeatureFunction>[0];

/** The names, in order, of the values `inputBuilder` reads: `[group, name]` with group `request` or an input view. */
export function inputLayout(view: RequestView, inputFeatures: readonly (readonly string[])[]): readonly (readonly [string, string])[] {
  return [...Object.keys(view.request).map((f) => [REQUEST_INPUT, f] as const), ...view.inputs.flatMap((input, i) => inputFeatures[i]!.map((f) => [input, f] as const))];
}

export function inputBuilder(layout: readonly (readonly [string, string])[]): InputBuilder {
  // `request` is always there, even for a view with no request fields.
  const groups = [REQUEST_INPUT, ...new Set(layout.map(([group]) => group).filter((g) => g !== REQUEST_INPUT))];
  const fields = groups.map((group) => `${JSON.stringify(group)}: { ${layout.flatMap(([g, name], i) => (g === group ? [`${JSON.stringify(name)}: v[${i}]`] : [])).join(', ')} }`);
  return new Function('v', `return { ${fields.join(', ')} };`) as InputBuilder;
}

/**
 * Evaluates each feature of a request view twice on each sample input and throws a
 * ValidationError naming the feature and the input when the two results differ: a function that
 * is not deterministic (reads the clock, `Math.random`, or state it changes) is a bug in the
 * project, since serving and training would compute different values. For tests; a pass on
 * samples is evidence, not proof.
 *
 * @example
 * checkDeterministic(paymentRisk, [{ request: { amount: 10, merchant_country: 'FR' }, txn_stats: {...}, profile: {...} }]);
 */
export function checkDeterministic(view: RequestViewSpec, samples: readonly Parameters<RequestFeatureFunction>[0][]): void {
  const first: RequestOutcome = { value: null, error: undefined, thrown: undefined };
  const second: RequestOutcome = { value: null, error: undefined, thrown: undefined };
  for (const sample of samples) {
    for (const [name, fn] of Object.entries(view.features)) {
      const type = view.types[name]!;
      callRequestFeature(fn, sample, type, first);
      callRequestFeature(fn, sample, type, second);
      if (!Object.is(first.value, second.value) || first.error !== second.error || first.thrown !== second.thrown) {
        const shown = (o: RequestOutcome) => (o.error ?? String(o.value));
        throw new ValidationError('VALIDATION_FAILED', `request view "${view.name}", feature "${name}" is not deterministic: on the same input it gave ${shown(first)}, then ${shown(second)}; make it depend only on its argument (no clock, random numbers or outside state)`, { details: { input: sample } });
      }
    }
  }
}
