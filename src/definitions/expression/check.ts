import { FUNCTIONS, KIND_NAMES, MAX_STRING_LENGTH, NON_DETERMINISTIC, fitsKind } from './functions.js';
import type { Expr, ExprType } from './parse.js';
import { ExpressionError } from './tokenize.js';
import { aColumnType } from '../column-types.js';

/** An expression checked against a row's columns: its canonical SQL (names quoted, fully parenthesized), its type and the columns it reads. */
export interface TypedExpression {
  readonly sql: string;
  readonly type: ExprType;
  readonly reads: readonly string[];
  /**
   * The calls whose literal arguments DuckDB parses itself (a regex, a date part, a format), as
   * SQL over literals only (a sample value of its type for each other argument) with their
   * position: `SELECT <probe>` fails when such an argument is invalid, which row-by-row
   * evaluation would otherwise turn into NULLs or a failed batch (see `probeExpressions`).
   */
  readonly probes: readonly { readonly sql: string; readonly at: number }[];
}

/** A literal of each type, for probes. */
const SAMPLE: Readonly<Record<ExprType, string>> = { int64: '1', float64: '1.0', string: "'a'", bool: 'true', timestamp: "TIMESTAMP '2000-01-01 00:00:00'", date: "DATE '2000-01-01'", null: 'NULL' };

const NUMERIC = new Set<ExprType>(['int64', 'float64']);
const TEMPORAL = new Set<ExprType>(['timestamp', 'date']);
/** The DuckDB type of a NULL or string literal given as an argument of each kind. */
const KIND_SQL = { num: 'DOUBLE', int: 'BIGINT', str: 'VARCHAR', bool: 'BOOLEAN', time: 'TIMESTAMP' } as const;
const CAST_SQL: Readonly<Record<ExprType, string>> = { int64: 'BIGINT', float64: 'DOUBLE', string: 'VARCHAR', bool: 'BOOLEAN', timestamp: 'TIMESTAMP', date: 'DATE', null: 'VARCHAR' };

/** The common type of two values (CASE branches, coalesce), or undefined when there is none. */
function unify(a: ExprType, b: ExprType): ExprType | undefined {
  if (a === 'null') return b;
  if (b === 'null' || a === b) return a;
  if (NUMERIC.has(a) && NUMERIC.has(b)) return 'float64';
  if (TEMPORAL.has(a) && TEMPORAL.has(b)) return 'timestamp';
  return undefined;
}

/** The common type of the values so far (`type`) and the next one's (`next`, of expression `at`); an error at it when there is none. */
function unifyAt(type: ExprType, next: ExprType, at: Expr): ExprType {
  const common = unify(type, next);
  if (common === undefined) throw new ExpressionError(`this is ${aColumnType(next)}, but earlier values are ${type}; give every branch one type`, at.at);
  return common;
}

/** A date or timestamp in UTC, as DuckDB reads it: an offset (`+05:30`) would be ignored, an invalid date read as NULL. */
const TIME_LITERAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?Z?)?$/;

/** A string literal used as a time (compared with a timestamp or a date, a time argument) is a valid UTC date or timestamp. */
function checkTimeLiteral(expr: Extract<Expr, { k: 'lit' }>): void {
  const text = expr.sql.slice(1, -1).replaceAll("''", "'");
  const [year, month, day, hour = 0, minute = 0, second = 0] = (TIME_LITERAL.exec(text) ?? []).slice(1).map((part) => (part === undefined ? undefined : Number(part)));
  const leap = year !== undefined && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === undefined ? 0 : [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (day === undefined || day < 1 || day > days || hour > 23 || minute > 59 || second > 59) {
    throw new ExpressionError(`'${text}' is not a time: write a UTC date or timestamp such as '2024-01-01' or '2024-01-01T10:00:00Z' (an offset such as +05:30 would not be applied, so it is refused)`, expr.at);
  }
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

class Checker {
  readonly reads = new Set<string>();
  readonly probes: { sql: string; at: number }[] = [];
  constructor(private readonly columns: ReadonlyMap<string, { name: string; type: ExprType }>, private readonly now?: string) {}

  /** Whether two values may be compared: equal kinds, or a timestamp/date and a string literal (read as a time). */
  private comparable(a: Expr, ta: ExprType, b: Expr, tb: ExprType): boolean {
    if (unify(ta, tb) !== undefined) return true;
    for (const [time, text, textType] of [[ta, b, tb], [tb, a, ta]] as const) {
      if (TEMPORAL.has(time) && text.k === 'lit' && textType === 'string') {
        checkTimeLiteral(text);
        return true;
      }
    }
    return false;
  }

  private expect(expr: Expr, type: ExprType, ok: boolean, what: string): void {
    if (!ok) throw new ExpressionError(`${what}, not ${type === 'null' ? 'NULL' : aColumnType(type)}`, expr.at);
  }

  check(expr: Expr): { sql: string; type: ExprType } {
    switch (expr.k) {
      case 'lit':
        return { sql: expr.sql, type: expr.type };
      case 'col': {
        const column = this.columns.get(expr.name.toLowerCase());
        if (column === undefined) {
          if (this.now !== undefined && NOW.has(expr.name.toLowerCase())) return { sql: this.now, type: 'timestamp' };
          if (NON_DETERMINISTIC.has(expr.name.toLowerCase())) throw new ExpressionError(`${expr.name} is not deterministic (it differs between the training and the serving path); expressions may not use it`, expr.at);
          throw new ExpressionError(`unknown column "${expr.name}"`, expr.at);
        }
        this.reads.add(column.name);
        return { sql: quote(column.name), type: column.type };
      }
      case 'neg': {
        const arg = this.check(expr.arg);
        this.expect(expr.arg, arg.type, NUMERIC.has(arg.type) || arg.type === 'null', '"-" needs a number');
        return { sql: `(- ${arg.sql})`, type: arg.type === 'null' ? 'float64' : arg.type };
      }
      case 'not': {
        const arg = this.check(expr.arg);
        this.expect(expr.arg, arg.type, arg.type === 'bool' || arg.type === 'null', 'NOT needs a boolean');
        return { sql: `(NOT ${arg.sql})`, type: 'bool' };
      }
      case 'bin':
        return this.binary(expr);
      case 'isnull':
        return { sql: `(${this.check(expr.arg).sql} IS ${expr.not ? 'NOT ' : ''}NULL)`, type: 'bool' };
      case 'distinct': {
        // NULL-safe comparison: NULL IS NOT DISTINCT FROM NULL is true, and never NULL.
        const l = this.check(expr.l);
        const r = this.check(expr.r);
        if (!this.comparable(expr.l, l.type, expr.r, r.type)) throw new ExpressionError(`IS DISTINCT FROM compares ${aColumnType(l.type)} with ${aColumnType(r.type)}`, expr.at);
        return { sql: `(${l.sql} IS ${expr.not ? 'NOT ' : ''}DISTINCT FROM ${r.sql})`, type: 'bool' };
      }
      case 'in': {
        const arg = this.check(expr.arg);
        const list = expr.list.map((item) => {
          const t = this.check(item);
          if (!this.comparable(expr.arg, arg.type, item, t.type)) throw new ExpressionError(`IN compares ${aColumnType(arg.type)} with ${aColumnType(t.type)}`, item.at);
          return t.sql;
        });
        return { sql: `(${arg.sql} ${expr.not ? 'NOT ' : ''}IN (${list.join(', ')}))`, type: 'bool' };
      }
      case 'between': {
        const arg = this.check(expr.arg);
        const [lo, hi] = [expr.lo, expr.hi].map((bound) => {
          const t = this.check(bound);
          if (!this.comparable(expr.arg, arg.type, bound, t.type)) throw new ExpressionError(`BETWEEN compares ${aColumnType(arg.type)} with ${aColumnType(t.type)}`, bound.at);
          return t.sql;
        });
        return { sql: `(${arg.sql} ${expr.not ? 'NOT ' : ''}BETWEEN ${lo} AND ${hi})`, type: 'bool' };
      }
      case 'like': {
        const arg = this.check(expr.arg);
        const pattern = this.check(expr.pattern);
        this.expect(expr.arg, arg.type, arg.type === 'string' || arg.type === 'null', `${expr.ci ? 'ILIKE' : 'LIKE'} needs a string`);
        this.expect(expr.pattern, pattern.type, pattern.type === 'string' || pattern.type === 'null', `${expr.ci ? 'ILIKE' : 'LIKE'} needs a string pattern`);
        const escape = expr.escape === undefined ? '' : ` ESCAPE '${expr.escape.replaceAll("'", "''")}'`;
        return { sql: `(${arg.sql} ${expr.not ? 'NOT ' : ''}${expr.ci ? 'ILIKE' : 'LIKE'} ${pattern.sql}${escape})`, type: 'bool' };
      }
      case 'case':
        return this.caseExpr(expr);
      case 'cast': {
        const arg = this.check(expr.arg);
        if (arg.type === 'bool' && (TEMPORAL.has(expr.to) || expr.to === 'float64')) throw new ExpressionError(`a boolean cannot be cast to ${expr.to}`, expr.at);
        if (TEMPORAL.has(arg.type) && (NUMERIC.has(expr.to) || expr.to === 'bool')) throw new ExpressionError(`${aColumnType(arg.type)} cannot be cast to ${expr.to}; use epoch_ms(...) for its time in milliseconds`, expr.at);
        // A string is read as ingest reads an event time: through TIMESTAMPTZ, so its offset applies (the session is UTC).
        const from = arg.type === 'string' && TEMPORAL.has(expr.to) ? `CAST(${arg.sql} AS TIMESTAMPTZ)` : arg.sql;
        return { sql: `CAST(${from} AS ${CAST_SQL[expr.to]})`, type: expr.to };
      }
      case 'call':
        return this.call(expr);
    }
  }

  private binary(expr: Extract<Expr, { k: 'bin' }>): { sql: string; type: ExprType } {
    const l = this.check(expr.l);
    const r = this.check(expr.r);
    const sql = `(${l.sql} ${expr.op} ${r.sql})`;
    const numeric = (t: ExprType) => NUMERIC.has(t) || t === 'null';
    switch (expr.op) {
      case 'AND':
      case 'OR':
        for (const [side, t] of [[expr.l, l.type], [expr.r, r.type]] as const) this.expect(side, t, t === 'bool' || t === 'null', `${expr.op} needs booleans`);
        return { sql, type: 'bool' };
      case '||':
        return { sql, type: 'string' };
      case '+':
      case '-':
        // DuckDB adds days to a date as a 32-bit INTEGER: an int64 value is converted (NULL when it does not fit).
        if (l.type === 'date' && (r.type === 'int64' || r.type === 'null')) return { sql: expr.r.k === 'lit' ? sql : `(${l.sql} ${expr.op} TRY_CAST(${r.sql} AS INTEGER))`, type: 'date' };
        if (expr.op === '-' && l.type === 'date' && r.type === 'date') return { sql, type: 'int64' };
        if (TEMPORAL.has(l.type) || TEMPORAL.has(r.type)) throw new ExpressionError(`"${expr.op}" on ${aColumnType(TEMPORAL.has(l.type) ? l.type : r.type)} is not supported; use date_diff('unit', a, b) or epoch_ms(ts)`, expr.at);
      // falls through: numbers
      case '*':
      case '/':
      case '%':
        for (const [side, t] of [[expr.l, l.type], [expr.r, r.type]] as const) this.expect(side, t, numeric(t), `"${expr.op}" needs numbers`);
        return { sql, type: expr.op !== '/' && l.type === 'int64' && r.type === 'int64' ? 'int64' : 'float64' };
      default:
        if (!this.comparable(expr.l, l.type, expr.r, r.type)) throw new ExpressionError(`"${expr.op}" compares ${aColumnType(l.type)} with ${aColumnType(r.type)}`, expr.at);
        return { sql, type: 'bool' };
    }
  }

  private caseExpr(expr: Extract<Expr, { k: 'case' }>): { sql: string; type: ExprType } {
    const operand = expr.operand === undefined ? undefined : this.check(expr.operand);
    let type: ExprType = 'null';
    const parts: string[] = [];
    for (const { when, then } of expr.whens) {
      const w = this.check(when);
      if (operand !== undefined) {
        if (!this.comparable(expr.operand!, operand.type, when, w.type)) throw new ExpressionError(`CASE compares ${aColumnType(operand.type)} with ${aColumnType(w.type)}`, when.at);
      } else this.expect(when, w.type, w.type === 'bool' || w.type === 'null', 'a CASE WHEN condition must be a boolean');
      const t = this.check(then);
      type = unifyAt(type, t.type, then);
      parts.push(`WHEN ${w.sql} THEN ${t.sql}`);
    }
    if (expr.otherwise !== undefined) {
      const t = this.check(expr.otherwise);
      type = unifyAt(type, t.type, expr.otherwise);
      parts.push(`ELSE ${t.sql}`);
    }
    return { sql: `(CASE ${operand === undefined ? '' : `${operand.sql} `}${parts.join(' ')} END)`, type };
  }

  private call(expr: Extract<Expr, { k: 'call' }>): { sql: string; type: ExprType } {
    const name = expr.name;
    if (this.now !== undefined && NOW.has(name) && expr.args.length === 0) return { sql: this.now, type: 'timestamp' };
    if (NON_DETERMINISTIC.has(name)) throw new ExpressionError(`function ${name}() is not deterministic (it differs between the training and the serving path); expressions may not use it`, expr.at);
    const signature = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name]! : undefined;
    if (signature === undefined) throw new ExpressionError(`function ${name}() is not supported in an expression; supported: ${Object.keys(FUNCTIONS).join(', ')}`, expr.at);
    const min = signature.args.length - (signature.optional ?? 0);
    const max = signature.rest === undefined ? signature.args.length : Infinity;
    if (expr.args.length < Math.max(min, signature.rest ? 1 : 0) || expr.args.length > max) {
      throw new ExpressionError(`${name}() takes ${signature.rest ? `at least ${Math.max(min, 1)}` : min === max ? min : `${min} to ${max}`} argument(s), not ${expr.args.length}`, expr.at);
    }
    const args = expr.args.map((arg, i) => {
      const t = this.check(arg);
      const kind = signature.args[i] ?? signature.rest!;
      if (kind === 'time' && arg.k === 'lit' && t.type === 'string') checkTimeLiteral(arg);
      else if (!fitsKind(t.type, kind)) throw new ExpressionError(`${name}() argument ${i + 1} must be ${KIND_NAMES[kind]}, not ${aColumnType(t.type)}`, arg.at);
      if (signature.literal?.includes(i) && arg.k !== 'lit') throw new ExpressionError(`${name}() argument ${i + 1} must be a literal (DuckDB needs it when it compiles the expression, or a row's value could ask for a string of gigabytes), not a value computed from the row`, arg.at);
      if (signature.lengths?.includes(i) && arg.k === 'lit' && t.type === 'int64' && BigInt(arg.sql.replace('::HUGEINT', '')) > MAX_STRING_LENGTH) throw new ExpressionError(`${name}() argument ${i + 1} must be at most ${MAX_STRING_LENGTH} (the length of the string it makes)`, arg.at);
      // A NULL or a string read as a time gets the argument's type, so DuckDB can choose among its overloads.
      const typedSql = kind !== 'any' && (t.type === 'null' || (kind === 'time' && t.type === 'string')) ? `CAST(${t.sql} AS ${KIND_SQL[kind]})` : t.sql;
      return { sql: signature.int32?.includes(i) ? `TRY_CAST(${typedSql} AS INTEGER)` : typedSql, type: t.type };
    });
    const result = signature.result(args.map((a) => a.type));
    let type: ExprType;
    if (result === 'unify') {
      const from = name === 'if' ? 1 : 0;
      type = 'null';
      expr.args.forEach((arg, i) => {
        if (i >= from) type = unifyAt(type, args[i]!.type, arg);
      });
    } else type = result;
    if (expr.args.some((arg) => arg.k === 'lit' && arg.type !== 'null')) {
      this.probes.push({ sql: `${name}(${expr.args.map((arg, i) => (arg.k === 'lit' ? arg.sql : SAMPLE[args[i]!.type])).join(', ')})`, at: expr.at });
    }
    return { sql: `${name}(${args.map((a) => a.sql).join(', ')})`, type };
  }
}

/** The spellings of "the current time" an expression may use where the caller gives it a meaning (`now`). */
const NOW = new Set(['now', 'current_timestamp']);

/**
 * Type-checks a parsed expression against the columns of a row (name to type, looked up
 * case-insensitively as DuckDB does) and renders its canonical SQL. With `now` (SQL of a
 * timestamp), `now()` and `current_timestamp` are allowed and render as it: a data quality
 * check's evaluation time, never a serving path's clock.
 */
export function checkExpression(expr: Expr, columns: Readonly<Record<string, ExprType>>, now?: string): TypedExpression {
  const checker = new Checker(new Map(Object.entries(columns).map(([name, type]) => [name.toLowerCase(), { name, type }])), now);
  const { sql, type } = checker.check(expr);
  return { sql, type, reads: [...checker.reads], probes: checker.probes };
}

export { CAST_SQL };
