import type { ExprType } from './parse.js';

/**
 * The functions a row expression may call: deterministic scalar functions of one row, with the
 * argument kinds they take and the type they give. A function that is not listed is refused at
 * `plan`; the non-deterministic ones get their own reason.
 */
type Kind = 'num' | 'int' | 'str' | 'bool' | 'time' | 'any';

export interface FunctionSignature {
  readonly args: readonly Kind[];
  /** Kind of the arguments after `args` (a function that takes any number of them). */
  readonly rest?: Kind;
  /** Arguments that may be left out at the end. */
  readonly optional?: number;
  /** The result type, from the argument types. */
  readonly result: (args: readonly ExprType[]) => ExprType | 'unify';
  /** Arguments (0-based) DuckDB takes as a 32-bit INTEGER: an int64 is converted (NULL when it does not fit). */
  readonly int32?: readonly number[];
  /** Arguments (0-based) DuckDB needs as a constant when it compiles the call (a format, a group number). */
  readonly literal?: readonly number[];
  /** Arguments (0-based) that are the length of the string made: literals up to {@link MAX_STRING_LENGTH}, so no row's value can make a huge string. */
  readonly lengths?: readonly number[];
}

/** The longest string a length argument (`lpad`, `rpad`) may ask for. */
export const MAX_STRING_LENGTH = 10_000;

const is = (type: ExprType) => (): ExprType => type;
const sameNumber = (args: readonly ExprType[]): ExprType => (args[0] === 'int64' ? 'int64' : 'float64');

const fn = (args: Kind[], result: FunctionSignature['result'], extra: Partial<FunctionSignature> = {}): FunctionSignature => ({ args, result, ...extra });

export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = {
  coalesce: fn([], () => 'unify', { rest: 'any' }),
  ifnull: fn(['any', 'any'], () => 'unify'),
  nullif: fn(['any', 'any'], (a) => a[0]!),
  greatest: fn([], () => 'unify', { rest: 'any' }),
  least: fn([], () => 'unify', { rest: 'any' }),
  abs: fn(['num'], sameNumber),
  sign: fn(['num'], is('int64')),
  round: fn(['num', 'int'], (a) => (a.length === 1 ? sameNumber(a) : 'float64'), { optional: 1, int32: [1] }),
  floor: fn(['num'], is('float64')),
  ceil: fn(['num'], is('float64')),
  ceiling: fn(['num'], is('float64')),
  sqrt: fn(['num'], is('float64')),
  cbrt: fn(['num'], is('float64')),
  exp: fn(['num'], is('float64')),
  ln: fn(['num'], is('float64')),
  log10: fn(['num'], is('float64')),
  log2: fn(['num'], is('float64')),
  pow: fn(['num', 'num'], is('float64')),
  power: fn(['num', 'num'], is('float64')),
  lower: fn(['str'], is('string')),
  upper: fn(['str'], is('string')),
  trim: fn(['str'], is('string')),
  ltrim: fn(['str'], is('string')),
  rtrim: fn(['str'], is('string')),
  reverse: fn(['str'], is('string')),
  length: fn(['str'], is('int64')),
  substr: fn(['str', 'int', 'int'], is('string'), { optional: 1 }),
  substring: fn(['str', 'int', 'int'], is('string'), { optional: 1 }),
  left: fn(['str', 'int'], is('string')),
  right: fn(['str', 'int'], is('string')),
  replace: fn(['str', 'str', 'str'], is('string')),
  concat: fn([], is('string'), { rest: 'any' }),
  lpad: fn(['str', 'int', 'str'], is('string'), { literal: [1], lengths: [1], int32: [1] }),
  rpad: fn(['str', 'int', 'str'], is('string'), { literal: [1], lengths: [1], int32: [1] }),
  split_part: fn(['str', 'str', 'int'], is('string')),
  strpos: fn(['str', 'str'], is('int64')),
  starts_with: fn(['str', 'str'], is('bool')),
  ends_with: fn(['str', 'str'], is('bool')),
  contains: fn(['str', 'str'], is('bool')),
  regexp_matches: fn(['str', 'str'], is('bool')),
  regexp_replace: fn(['str', 'str', 'str'], is('string')),
  regexp_extract: fn(['str', 'str', 'int'], is('string'), { optional: 1, int32: [2], literal: [2] }),
  md5: fn(['str'], is('string')),
  date_trunc: fn(['str', 'time'], is('timestamp')),
  date_part: fn(['str', 'time'], is('int64')),
  date_diff: fn(['str', 'time', 'time'], is('int64')),
  year: fn(['time'], is('int64')),
  month: fn(['time'], is('int64')),
  day: fn(['time'], is('int64')),
  hour: fn(['time'], is('int64')),
  minute: fn(['time'], is('int64')),
  second: fn(['time'], is('int64')),
  dayofweek: fn(['time'], is('int64')),
  dayofyear: fn(['time'], is('int64')),
  quarter: fn(['time'], is('int64')),
  epoch_ms: fn(['time'], is('int64')),
  strftime: fn(['time', 'str'], is('string'), { literal: [1] }),
  if: fn(['bool', 'any', 'any'], () => 'unify'),
};

/** Functions that give a different value on each call or each day: never allowed in an expression. */
export const NON_DETERMINISTIC = new Set([
  'random', 'now', 'current_timestamp', 'current_date', 'current_time', 'get_current_timestamp', 'get_current_time', 'today',
  'transaction_timestamp', 'localtimestamp', 'localtime', 'gen_random_uuid', 'uuid', 'uuidv4', 'uuidv7', 'setseed', 'nextval', 'currval',
]);

/** Whether a value of `type` is of argument kind `kind` (null fits every kind). */
export function fitsKind(type: ExprType, kind: Kind): boolean {
  if (type === 'null' || kind === 'any') return true;
  switch (kind) {
    case 'num':
      return type === 'int64' || type === 'float64';
    case 'int':
      return type === 'int64';
    case 'str':
      return type === 'string';
    case 'bool':
      return type === 'bool';
    default:
      return type === 'timestamp' || type === 'date';
  }
}

export const KIND_NAMES: Readonly<Record<Kind, string>> = { num: 'a number', int: 'an int64', str: 'a string', bool: 'a boolean', time: 'a timestamp or date', any: 'a value' };
