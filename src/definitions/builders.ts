import type { CheckSpec } from './check-types.js';
import type { ClassificationSpec } from './compliance-types.js';
import type { FeatureValues } from './request-view.js';
import type {
  BatchSourceSpec,
  DerivedColumnSpec,
  DriftThreshold,
  EntitySpec,
  FeatureServiceSpec,
  FeatureSpec,
  FeatureViewSpec,
  PostgresTableSpec,
  RequestViewSpec,
  Schema,
  SourceSpec,
  SqlTransformSpec,
} from './types.js';

/** An entity's identity: one join key column, or several (`joinKeys`) whose values together name one entity. */
export type EntityOptions =
  | { name: string; joinKey: string; joinKeys?: never; description?: string; classify?: ClassificationSpec }
  | { name: string; joinKeys: readonly string[]; joinKey?: never; description?: string; classify?: ClassificationSpec };

/**
 * Declares an entity: the thing features describe, identified by a join key column, or by several
 * (a composite key: features of a pair). `joinKey: 'k'` is the same as `joinKeys: ['k']`. Names
 * of entities, sources, views and services are compared case-insensitively: `customer` and
 * `Customer` collide.
 *
 * @example
 * const customer = entity({ name: 'customer', joinKey: 'customer_id' });
 * const userMerchant = entity({ name: 'user_merchant', joinKeys: ['user_id', 'merchant_id'] });
 */
export function entity(options: EntityOptions): EntitySpec {
  const keys = options.joinKeys === undefined ? {} : { joinKeys: Object.freeze([...options.joinKeys]) };
  return Object.freeze({ kind: 'entity', ...options, ...keys });
}

/**
 * Declares a batch source: files ingested into the lake, with a schema and an event-time column.
 * Column names use letters, digits and `_`, may not start with `_` (reserved for Sluice's own
 * columns), and must differ in more than case (DuckDB compares them case-insensitively).
 * With `eventId` (a string or int64 column), each event is stored once: a row whose id is already
 * in the source, or earlier in the same file, is skipped at ingest and counted as a duplicate.
 *
 * @example
 * const transactions = batchSource({
 *   name: 'transactions',
 *   schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' },
 *   timestamp: 'ts',
 *   eventId: 'txn_id',
 * });
 */
export function batchSource<const S extends Schema>(options: {
  name: string;
  schema: S;
  timestamp: string;
  eventId?: string;
  description?: string;
  freshness?: string;
  connector?: PostgresTableSpec;
  /** A glob of the source's files relative to the project directory, for the job `ingest:<source>`. */
  path?: string;
  checks?: readonly CheckSpec[];
  classify?: { readonly [K in keyof S]?: ClassificationSpec };
  region?: string;
  retention?: string;
}): BatchSourceSpec<S> {
  return Object.freeze({ kind: 'batchSource', ...options, schema: Object.freeze({ ...options.schema }) });
}

export interface WindowOptions {
  /** A duration such as `"1h"` or `"7d"`: the feature sees events with `t - window <= ts < t`. */
  readonly window?: string;
  /**
   * Makes the window hopped (bounded state for long windows): its tail moves in steps of `hop`
   * (multiples of `hop` since the epoch, UTC) while its head slides, so the feature sees
   * `floor(t - window, hop) <= ts < t`. Needs a `window` that is a whole number of hops.
   *
   * @example
   * sum('amount', { window: '30d', hop: '1h' });
   */
  readonly hop?: string;
  /** Overrides the classification the feature inherits (see `declassify`, `pii`). */
  readonly classify?: ClassificationSpec;
}

function feature<Fn extends FeatureSpec['fn'], C extends string>(fn: Fn, column: C | undefined, options: WindowOptions = {}): FeatureSpec<Fn, C> {
  return Object.freeze({
    kind: 'feature',
    fn,
    ...(column === undefined ? {} : { column }),
    ...(options.window === undefined ? {} : { window: options.window }),
    ...(options.hop === undefined ? {} : { hop: options.hop }),
    ...(options.classify === undefined ? {} : { classify: options.classify }),
  });
}

/**
 * Counts events (`count()`), or non-null values of a column (`count("amount")`). 0 when none.
 *
 * @example
 * count({ window: '1h' });
 */
export function count(columnOrOptions?: string | WindowOptions, options?: WindowOptions): FeatureSpec<'count'> {
  return typeof columnOrOptions === 'string'
    ? feature('count', columnOrOptions, options)
    : feature('count', undefined, columnOrOptions);
}

/** The exact sum of the non-null values, rounded once to float64 (as Python's `math.fsum`): independent of event order. Null when none. @example sum('amount', { window: '24h' }) */
export const sum = <C extends string>(column: C, options?: WindowOptions): FeatureSpec<'sum', C> => feature('sum', column, options);
/** Mean of non-null values (the exact sum divided by the count). Null when none. @example avg('amount', { window: '7d' }) */
export const avg = <C extends string>(column: C, options?: WindowOptions): FeatureSpec<'avg', C> => feature('avg', column, options);
/** Smallest non-null value. Null when none. @example min('amount', { window: '7d' }) */
export const min = <C extends string>(column: C, options?: WindowOptions): FeatureSpec<'min', C> => feature('min', column, options);
/** Largest non-null value. Null when none. @example max('amount', { window: '7d' }) */
export const max = <C extends string>(column: C, options?: WindowOptions): FeatureSpec<'max', C> => feature('max', column, options);
/** Number of distinct non-null values. 0 when none. @example countDistinct('merchant', { window: '7d' }) */
export const countDistinct = <C extends string>(column: C, options?: WindowOptions): FeatureSpec<'countDistinct', C> =>
  feature('countDistinct', column, options);
/** The non-null value of the latest event (ties: the row ingested later). @example last('amount') */
export const last = <C extends string>(column: C, options?: WindowOptions): FeatureSpec<'last', C> => feature('last', column, options);

/**
 * The last `n` non-null values of a scalar column (string, int64 or float64), newest first (ties
 * on ts: the row ingested later first), as a list (`string[]`, `int64[]`, `float64[]`); with a
 * window, only values of events in it. An empty list when there are none.
 *
 * @example
 * lastN('item_id', 10, { window: '1h' });
 */
export function lastN<C extends string>(column: C, n: number, options?: WindowOptions): FeatureSpec<'lastN', C> {
  return Object.freeze({ ...feature('lastN', column, options), n });
}

/**
 * The value (null or not) of the latest row before `t`; with the view's `ttl`, only a row with
 * `ts >= t - ttl` counts.
 *
 * @example
 * field('segment');
 */
export function field<C extends string>(column: C, options: { classify?: ClassificationSpec } = {}): FeatureSpec<'field', C> {
  return feature('field', column, options);
}

/**
 * Declares a feature view: features of one entity computed from one source. Its features come
 * out as columns `<view>__<feature>`, so view and feature names may not contain `__`, the view
 * name may not start with `_`, and names must differ in more than case, like every name in a
 * project.
 *
 * Row transforms shape the view's input: `filter`, a SQL boolean expression over a source row
 * (rows for which it is not true are skipped), and `columns`, derived columns computed from a
 * source row by a SQL expression, which features read like source columns. Both are checked at
 * `plan` and evaluated by DuckDB from the same compiled SQL on every path (see `docs/row-transforms.md`).
 *
 * @example
 * featureView({ name: 'txn_stats', entity: customer, source: transactions,
 *   features: { txn_count_1h: count({ window: '1h' }) } });
 * featureView({ name: 'card_payments', entity: account, source: payments,
 *   filter: "channel IN ('pos', 'moto')",
 *   columns: { amount_usd: { type: 'float64', sql: 'amount * coalesce(fx_rate, 1.0)' } },
 *   features: { usd_sum_24h: sum('amount_usd', { window: '24h' }) } });
 */
export function featureView<
  const N extends string, S extends Schema, const F extends Record<string, FeatureSpec>, const C extends Record<string, DerivedColumnSpec> = Record<never, DerivedColumnSpec>,
>(options: {
  name: N;
  entity: EntitySpec;
  source: (SourceSpec | SqlTransformSpec) & { readonly schema: S };
  features: F;
  filter?: string;
  columns?: C;
  ttl?: string;
  description?: string;
  freshness?: string;
  drift?: { readonly [K in keyof F]?: DriftThreshold };
  checks?: readonly CheckSpec[];
  retention?: string;
}): FeatureViewSpec<N, FeatureValues<F, S & { readonly [K in keyof C]: C[K]['type'] }>> {
  const columns = options.columns === undefined ? {} : { columns: Object.freeze({ ...options.columns }) };
  return Object.freeze({ kind: 'featureView', ...options, ...columns, features: Object.freeze({ ...options.features }) });
}

/**
 * Declares a feature service: the set of features a model uses, as whole views or `"view:feature"`.
 *
 * @example
 * featureService({ name: 'fraud_v1', features: [txnStats, 'profile:segment'] });
 */
export function featureService(options: {
  name: string;
  features: Array<FeatureViewSpec | RequestViewSpec | string>;
  description?: string;
  log?: { sampleRate: number };
}): FeatureServiceSpec {
  return Object.freeze({ kind: 'featureService', ...options, features: Object.freeze([...options.features]) });
}

/**
 * Declares a SQL transform: a derived table in the lake, the result of one DuckDB SELECT over its
 * inputs (sources or other transforms, named in the SQL by their names). `sluice transform run`
 * writes it as an atomic snapshot; feature views can use it as their source. The SQL may read
 * only the declared inputs (no files, table functions or other statements), and its result must
 * have exactly the declared schema (checked at `plan` and at every run). With `incremental`, a
 * run reads only the rows of its first input added since the last run (the other inputs whole,
 * as lookups) and appends its result: for an append-only first input and row-by-row SQL
 * (filters, projections, lookups).
 *
 * @example
 * const customer360 = sqlTransform({
 *   name: 'customer_360', inputs: [crmAccounts, billingInvoices],
 *   sql: `SELECT a.account_id, a.tier, sum(i.amount) AS billed, max(i.ts) AS ts
 *         FROM crm_accounts a LEFT JOIN billing_invoices i USING (account_id) GROUP BY ALL`,
 *   timestamp: 'ts',
 *   schema: { account_id: 'string', tier: 'string', billed: 'float64', ts: 'timestamp' },
 * });
 */
export function sqlTransform(options: {
  name: string;
  inputs: ReadonlyArray<SourceSpec | SqlTransformSpec>;
  sql: string;
  timestamp: string;
  schema: Schema;
  incremental?: boolean;
  description?: string;
  checks?: readonly CheckSpec[];
  classify?: Readonly<Partial<Record<string, ClassificationSpec>>>;
  region?: string;
}): SqlTransformSpec {
  return Object.freeze({ kind: 'sqlTransform', ...options, inputs: Object.freeze([...options.inputs]), schema: Object.freeze({ ...options.schema }) });
}
