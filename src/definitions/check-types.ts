import type { ColumnType } from './types.js';

/** How a failing check acts: `warn` records and alerts; `error` also blocks (a batch is quarantined, a stream event dead-lettered). */
export type CheckSeverity = 'warn' | 'error';

/** The kinds of data quality check (see `docs/quality.md`). */
export type CheckKind = 'notNull' | 'range' | 'allowedValues' | 'unique' | 'rowCount' | 'sql' | 'regex' | 'freshness' | 'schema';

/** Options every check takes. */
export interface CheckOptions {
  /** `warn` (default) records and alerts; `error` blocks the batch. */
  readonly severity?: CheckSeverity;
  /** The fraction of rows that must pass, from 0 to 1 (default 1: every row). */
  readonly mostly?: number;
  /** The check's name, unique in its dataset; by default derived from its kind and columns (`amount_not_null`). */
  readonly name?: string;
}

/** A check as declared (what `notNull(...)`, `range(...)`, ... return): plain and frozen. */
export interface CheckSpec extends CheckOptions {
  readonly kind: 'check';
  readonly check: CheckKind;
  readonly column?: string;
  readonly columns?: readonly string[];
  readonly min?: number | string;
  readonly max?: number | string;
  readonly values?: readonly (string | number | boolean)[];
  readonly pattern?: string;
  /** `sqlCheck`: a SQL boolean expression over a row that must not be false. */
  readonly sql?: string;
  /** `freshness`: the newest event may be at most this old, e.g. "1h". */
  readonly maxAge?: string;
  /** `schema`: the expected columns (name to type), or names only; default the dataset's declared schema. */
  readonly expected?: Readonly<Record<string, ColumnType>> | readonly string[];
}

/**
 * A compiled check: plain JSON, stored with its dataset (outside its value hash: a check
 * changes no value). Row-level checks carry `predicate`, DuckDB SQL over the dataset's typed
 * columns (and `_check_now`, the evaluation time, where the expression said `now()`) that is
 * false for a failing row (NULL passes, as in a SQL CHECK constraint).
 */
export interface Check {
  readonly name: string;
  readonly kind: CheckKind;
  readonly severity: CheckSeverity;
  readonly mostly: number;
  /** The columns it reads (sample failing values are taken from them). */
  readonly columns: readonly string[];
  /** What it asserts, in words: `amount >= 0`, `channel in (web, pos)`. */
  readonly description: string;
  readonly predicate?: string;
  /** `rowCount`: bounds on the batch's rows. */
  readonly minRows?: number;
  readonly maxRows?: number;
  /** `freshness`: the largest allowed age of the newest event, ms. */
  readonly maxAgeMs?: number;
  /** `schema`: the expected columns; a type of null accepts any type. */
  readonly expected?: Readonly<Record<string, ColumnType | null>>;
}

/** The column a row-level predicate reads for "now": the evaluation time (a reserved name, so no user column has it). */
export const CHECK_NOW_COLUMN = '_check_now';
