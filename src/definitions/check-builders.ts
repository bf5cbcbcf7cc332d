import type { CheckKind, CheckOptions, CheckSpec } from './check-types.js';
import type { ColumnType } from './types.js';

function check(kind: CheckKind, fields: Omit<CheckSpec, 'kind' | 'check'>): CheckSpec {
  const spec = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return Object.freeze({ kind: 'check', check: kind, ...spec }) as CheckSpec;
}

/**
 * Every row has a value in `column`.
 *
 * @example
 * batchSource({ ..., checks: [notNull('amount', { severity: 'error' })] });
 */
export function notNull(column: string, options: CheckOptions = {}): CheckSpec {
  return check('notNull', { column, ...options });
}

/**
 * `column`'s values are within `[min, max]` (either bound may be left out; numbers, or ISO
 * timestamps for a timestamp column). Nulls pass (add `notNull` to refuse them).
 *
 * @example
 * range('amount', { min: 0, mostly: 0.99 });
 */
export function range(column: string, options: CheckOptions & { readonly min?: number | string; readonly max?: number | string }): CheckSpec {
  return check('range', { column, ...options });
}

/**
 * `column`'s values are among `values`. Nulls pass.
 *
 * @example
 * allowedValues('channel', ['web', 'pos', 'atm']);
 */
export function allowedValues(column: string, values: readonly (string | number | boolean)[], options: CheckOptions = {}): CheckSpec {
  return check('allowedValues', { column, values: Object.freeze([...values]), ...options });
}

/**
 * No two rows of the batch have the same value of `column` (or the same values of `columns`
 * together). Rows with a null in the key are not compared. Failing rows: every row of a
 * repeated key.
 *
 * @example
 * unique('txn_id');
 * unique(['customer_id', 'day']);
 */
export function unique(columns: string | readonly string[], options: CheckOptions = {}): CheckSpec {
  return check('unique', { columns: Object.freeze(typeof columns === 'string' ? [columns] : [...columns]), ...options });
}

/**
 * The batch has at least `min` and at most `max` rows.
 *
 * @example
 * rowCount({ min: 1 });
 */
export function rowCount(options: { readonly min?: number; readonly max?: number; readonly severity?: CheckOptions['severity']; readonly name?: string }): CheckSpec {
  return check('rowCount', options);
}

/**
 * A SQL boolean expression over a row (the row expression language of `docs/row-transforms.md`,
 * plus `now()`, the evaluation time) that no row may make false.
 *
 * @example
 * sqlCheck('no_future', 'ts <= now()');
 */
export function sqlCheck(name: string, predicate: string, options: Omit<CheckOptions, 'name'> = {}): CheckSpec {
  return check('sql', { name, sql: predicate, ...options });
}

/**
 * `column`'s values match the regular expression `pattern` (RE2 syntax, as DuckDB's
 * `regexp_matches`; anywhere in the value unless anchored with `^...$`). Nulls pass.
 *
 * @example
 * regex('email', '^[^@]+@[^@]+$');
 */
export function regex(column: string, pattern: string, options: CheckOptions = {}): CheckSpec {
  return check('regex', { column, pattern, ...options });
}

/**
 * The newest event of the batch (by the dataset's timestamp, or `column`) is at most `maxAge`
 * old when the check runs.
 *
 * @example
 * freshness('2h', { severity: 'error' });
 */
export function freshness(maxAge: string, options: Omit<CheckOptions, 'mostly'> & { readonly column?: string } = {}): CheckSpec {
  return check('freshness', { maxAge, ...options });
}

/**
 * The batch's columns are exactly those expected (and, where the input says, of the expected
 * types): by default the dataset's declared schema, or `expected` (names, or names to types).
 * An upstream export that adds, drops or retypes a column fails it.
 *
 * @example
 * schema(undefined, { severity: 'error' });
 * schema(['txn_id', 'amount', 'ts']);
 */
export function schema(expected?: Readonly<Record<string, ColumnType>> | readonly string[], options: Omit<CheckOptions, 'mostly'> = {}): CheckSpec {
  return check('schema', { ...(expected === undefined ? {} : { expected: Object.freeze(Array.isArray(expected) ? [...expected] : { ...expected }) as CheckSpec['expected'] }), ...options });
}
