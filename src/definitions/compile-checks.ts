import { parseDuration } from '../time/index.js';
import { CHECK_NOW_COLUMN, type Check, type CheckKind, type CheckSpec } from './check-types.js';
import { aColumnType, columnTypeProblem, isListType } from './column-types.js';
import { compileExpression, type ExprType, type TypedExpression } from './expression/index.js';
import { didYouMean } from './suggest.js';
import type { ColumnType, Schema } from './types.js';
import { checkName, fail } from './validate-names.js';

const KINDS: readonly CheckKind[] = ['notNull', 'range', 'allowedValues', 'unique', 'rowCount', 'sql', 'regex', 'freshness', 'schema'];
const BUILDERS = 'notNull(), range(), allowedValues(), unique(), rowCount(), sqlCheck(), regex(), freshness() or schema()';

/** The dataset a list of checks belongs to: its name for messages, its columns, and its event-time column. */
export interface CheckedDataset {
  /** `source "txns"`, `transform "t"`, `feature view "v"`. */
  readonly where: string;
  readonly schema: Schema;
  readonly timestamp?: string;
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const sqlLiteral = (value: string | number | boolean): string => (typeof value === 'string' ? `'${value.replaceAll("'", "''")}'` : String(value));

/** The columns an expression may read: the scalar ones, with a row's types. */
function expressionRow(schema: Schema): Record<string, ExprType> {
  return Object.fromEntries(Object.entries(schema).filter(([, type]) => !isListType(type))) as Record<string, ExprType>;
}

function column(dataset: CheckedDataset, at: string, name: unknown): string {
  if (typeof name !== 'string' || name === '') fail(`${at}: give a column name, not ${JSON.stringify(name)}`);
  const found = Object.keys(dataset.schema).find((c) => c.toLowerCase() === name.toLowerCase());
  if (found === undefined) fail(`${at}: column "${name}" is not in ${dataset.where}${didYouMean(name, Object.keys(dataset.schema))}`);
  return found;
}

/** A row-level predicate written in the row expression language, checked like a view's filter (unknown columns, types, regexes). */
function predicate(dataset: CheckedDataset, at: string, text: string): TypedExpression {
  const typed = compileExpression(at, text, expressionRow(dataset.schema), quote(CHECK_NOW_COLUMN));
  if (typed.type !== 'bool' && typed.type !== 'null') fail(`${at} "${text}" must be a boolean expression, but it gives ${aColumnType(typed.type)}`);
  return typed;
}

function fraction(at: string, mostly: unknown): number {
  if (mostly === undefined) return 1;
  if (typeof mostly !== 'number' || !(mostly > 0 && mostly <= 1)) fail(`${at}: mostly must be a fraction greater than 0 and at most 1 (e.g. 0.99), not ${JSON.stringify(mostly)}`);
  return mostly;
}

function bound(at: string, type: ColumnType, name: 'min' | 'max', value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (type === 'timestamp') {
    if (typeof value !== 'string') fail(`${at}: ${name} of the timestamp column must be an ISO time string such as '2024-01-01T00:00:00Z', not ${JSON.stringify(value)}`);
    return sqlLiteral(value);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${at}: ${name} must be a finite number, not ${JSON.stringify(value)}`);
  return String(value);
}

/** The parts of a check particular to its kind: the columns read, the predicate text and a description. */
function kindParts(spec: CheckSpec, dataset: CheckedDataset, at: string): Omit<Check, 'name' | 'kind' | 'severity' | 'mostly'> & { readonly text?: string } {
  switch (spec.check) {
    case 'notNull': {
      const c = column(dataset, at, spec.column);
      return { columns: [c], description: `${c} is not null`, predicate: `(${quote(c)} IS NOT NULL)` };
    }
    case 'range': {
      const c = column(dataset, at, spec.column);
      const type = dataset.schema[c]!;
      if (!['int64', 'float64', 'timestamp'].includes(type)) fail(`${at}: range() needs a numeric or timestamp column, but "${c}" is ${type}; use allowedValues() or regex()`);
      const [min, max] = [bound(at, type, 'min', spec.min), bound(at, type, 'max', spec.max)];
      if (min === undefined && max === undefined) fail(`${at}: range() needs min, max or both, e.g. range("${c}", { min: 0 })`);
      if (typeof spec.min === 'number' && typeof spec.max === 'number' && spec.min > spec.max) fail(`${at}: min ${spec.min} is greater than max ${spec.max}`);
      const parts = [...(min === undefined ? [] : [['>=', min]]), ...(max === undefined ? [] : [['<=', max]])];
      return { columns: [c], description: parts.map(([op, v]) => `${c} ${op} ${v}`).join(' and '), text: parts.map(([op, v]) => `${quote(c)} ${op} ${v}`).join(' AND ') };
    }
    case 'allowedValues': {
      const c = column(dataset, at, spec.column);
      if (!Array.isArray(spec.values) || spec.values.length === 0 || !spec.values.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) {
        fail(`${at}: allowedValues() needs a non-empty list of strings, numbers or booleans, e.g. allowedValues("${c}", ["web", "pos"])`);
      }
      return { columns: [c], description: `${c} in (${spec.values.join(', ')})`, text: `${quote(c)} IN (${spec.values.map(sqlLiteral).join(', ')})` };
    }
    case 'regex': {
      const c = column(dataset, at, spec.column);
      if (dataset.schema[c] !== 'string') fail(`${at}: regex() needs a string column, but "${c}" is ${dataset.schema[c]}`);
      if (typeof spec.pattern !== 'string' || spec.pattern === '') fail(`${at}: regex() needs a pattern string, e.g. regex("${c}", "^[A-Z]{3}$")`);
      return { columns: [c], description: `${c} matches /${spec.pattern}/`, text: `regexp_matches(${quote(c)}, ${sqlLiteral(spec.pattern)})` };
    }
    case 'sql':
      if (typeof spec.sql !== 'string' || spec.sql.trim() === '') fail(`${at}: sqlCheck() needs a SQL boolean expression, e.g. sqlCheck("no_future", "ts <= now()")`);
      return { columns: [], description: spec.sql, text: spec.sql };
    case 'unique': {
      if (!Array.isArray(spec.columns) || spec.columns.length === 0) fail(`${at}: unique() needs a column or a list of columns`);
      const columns = spec.columns.map((c) => column(dataset, at, c));
      return { columns, description: `(${columns.join(', ')}) is unique` };
    }
    case 'rowCount': {
      for (const name of ['min', 'max'] as const) {
        const n = spec[name];
        if (n !== undefined && !(Number.isSafeInteger(n) && (n as number) >= 0)) fail(`${at}: ${name} must be a whole number of rows (0 or more), not ${JSON.stringify(n)}`);
      }
      const [min, max] = [spec.min as number | undefined, spec.max as number | undefined];
      if (min === undefined && max === undefined) fail(`${at}: rowCount() needs min, max or both, e.g. rowCount({ min: 1 })`);
      if (min !== undefined && max !== undefined && min > max) fail(`${at}: min ${min} is greater than max ${max}`);
      return { columns: [], description: [min === undefined ? '' : `rows >= ${min}`, max === undefined ? '' : `rows <= ${max}`].filter(Boolean).join(' and '), ...(min === undefined ? {} : { minRows: min }), ...(max === undefined ? {} : { maxRows: max }) };
    }
    case 'freshness': {
      const maxAgeMs = typeof spec.maxAge === 'string' ? parseDuration(spec.maxAge) : undefined;
      if (maxAgeMs === undefined) fail(`${at}: freshness() needs a positive duration such as "2h", not ${JSON.stringify(spec.maxAge)}`);
      const c = spec.column === undefined ? dataset.timestamp : column(dataset, at, spec.column);
      if (c === undefined) fail(`${at}: freshness() needs a timestamp column: freshness("1h", { column: "updated_at" })`);
      if (dataset.schema[c] !== 'timestamp') fail(`${at}: freshness() needs a timestamp column, but "${c}" is ${dataset.schema[c]}`);
      return { columns: [c], description: `newest ${c} within ${spec.maxAge}`, maxAgeMs };
    }
    case 'schema': {
      const expected: Record<string, ColumnType | null> = {};
      if (spec.expected === undefined) Object.assign(expected, dataset.schema);
      else if (Array.isArray(spec.expected)) for (const name of spec.expected) expected[String(name)] = null;
      else if (typeof spec.expected === 'object' && spec.expected !== null) {
        for (const [name, type] of Object.entries(spec.expected)) {
          const problem = columnTypeProblem(type);
          if (problem !== undefined) fail(`${at}: expected column "${name}" has type ${JSON.stringify(type)}; ${problem}`);
          expected[name] = type as ColumnType;
        }
      } else fail(`${at}: schema() takes the expected columns as a list of names or an object of name to type`);
      if (Object.keys(expected).length === 0) fail(`${at}: schema() needs at least one expected column`);
      return { columns: [], description: `columns are ${Object.keys(expected).join(', ')}`, expected };
    }
  }
}

const DEFAULT_NAME: Readonly<Record<CheckKind, (columns: readonly string[]) => string>> = {
  notNull: (c) => `${c[0]}_not_null`, range: (c) => `${c[0]}_range`, allowedValues: (c) => `${c[0]}_allowed_values`, unique: (c) => `${c.join('_')}_unique`,
  rowCount: () => 'row_count', sql: () => 'sql', regex: (c) => `${c[0]}_regex`, freshness: () => 'freshness', schema: () => 'schema',
};

/**
 * Validates a dataset's `checks` (built with `notNull()`, `range()`, ...) into plain
 * {@link Check}s: columns that are in the dataset (with a suggestion when not), predicates
 * type-checked by the row expression checker, names unique in the dataset (compared
 * case-insensitively). Empty when there are none.
 *
 * @example
 * compileChecks({ where: 'source "txns"', schema, timestamp: 'ts' }, [notNull('amount')]);
 */
export function compileChecks(dataset: CheckedDataset, specs: unknown): Check[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) fail(`${dataset.where}: checks must be a list of checks, e.g. checks: [notNull("amount")]`);
  const checks: Check[] = [];
  const seen = new Map<string, string>();
  for (const [i, raw] of specs.entries()) {
    const spec = raw as CheckSpec;
    if (spec?.kind !== 'check' || !KINDS.includes(spec.check)) fail(`${dataset.where}: checks[${i}] is not a check; build it with ${BUILDERS}`);
    const parts = kindParts(spec, dataset, `${dataset.where}: check ${spec.name === undefined ? `${spec.check}()` : `"${spec.name}"`}`);
    const name = spec.name ?? DEFAULT_NAME[spec.check](parts.columns);
    checkName(`${dataset.where}: check`, name);
    const at = `${dataset.where}: check "${name}"`;
    if (seen.has(name.toLowerCase())) fail(`${at}: another check of ${dataset.where} has this name; give one of them a name with { name: "..." }`);
    seen.set(name.toLowerCase(), name);
    const severity = spec.severity ?? 'warn';
    if (severity !== 'warn' && severity !== 'error') fail(`${at}: severity must be "warn" or "error", not ${JSON.stringify(severity)}`);
    const mostly = fraction(at, spec.mostly);
    const { text, ...rest } = parts;
    const typed = text === undefined ? undefined : predicate(dataset, `${at}: ${spec.check === 'sql' ? 'sql' : 'predicate'}`, text);
    checks.push({
      name, kind: spec.check, severity, mostly, ...rest,
      ...(typed === undefined ? {} : { predicate: typed.sql, columns: rest.columns.length > 0 ? rest.columns : typed.reads }),
    });
  }
  return checks;
}
