import type {
  BatchSourceSpec,
  EntitySpec,
  FeatureServiceSpec,
  FeatureSpec,
  FeatureViewSpec,
  Schema,
  SourceSpec,
} from './types.js';

/** An entity's identity: one join key column, or several (`joinKeys`) whose values together name one entity. */
export type EntityOptions =
  | { name: string; joinKey: string; joinKeys?: never; description?: string }
  | { name: string; joinKeys: readonly string[]; joinKey?: never; description?: string };

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
export function batchSource(options: {
  name: string;
  schema: Schema;
  timestamp: string;
  eventId?: string;
  description?: string;
}): BatchSourceSpec {
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
}

function feature(fn: FeatureSpec['fn'], column: string | undefined, options: WindowOptions = {}): FeatureSpec {
  return Object.freeze({
    kind: 'feature',
    fn,
    ...(column === undefined ? {} : { column }),
    ...(options.window === undefined ? {} : { window: options.window }),
    ...(options.hop === undefined ? {} : { hop: options.hop }),
  });
}

/**
 * Counts events (`count()`), or non-null values of a column (`count("amount")`). 0 when none.
 *
 * @example
 * count({ window: '1h' });
 */
export function count(columnOrOptions?: string | WindowOptions, options?: WindowOptions): FeatureSpec {
  return typeof columnOrOptions === 'string'
    ? feature('count', columnOrOptions, options)
    : feature('count', undefined, columnOrOptions);
}

/** The exact sum of the non-null values, rounded once to float64 (as Python's `math.fsum`): independent of event order. Null when none. @example sum('amount', { window: '24h' }) */
export const sum = (column: string, options?: WindowOptions): FeatureSpec => feature('sum', column, options);
/** Mean of non-null values (the exact sum divided by the count). Null when none. @example avg('amount', { window: '7d' }) */
export const avg = (column: string, options?: WindowOptions): FeatureSpec => feature('avg', column, options);
/** Smallest non-null value. Null when none. @example min('amount', { window: '7d' }) */
export const min = (column: string, options?: WindowOptions): FeatureSpec => feature('min', column, options);
/** Largest non-null value. Null when none. @example max('amount', { window: '7d' }) */
export const max = (column: string, options?: WindowOptions): FeatureSpec => feature('max', column, options);
/** Number of distinct non-null values. 0 when none. @example countDistinct('merchant', { window: '7d' }) */
export const countDistinct = (column: string, options?: WindowOptions): FeatureSpec =>
  feature('countDistinct', column, options);
/** The non-null value of the latest event (ties: the row ingested later). @example last('amount') */
export const last = (column: string, options?: WindowOptions): FeatureSpec => feature('last', column, options);

/**
 * The last `n` non-null values of a scalar column (string, int64 or float64), newest first (ties
 * on ts: the row ingested later first), as a list (`string[]`, `int64[]`, `float64[]`); with a
 * window, only values of events in it. An empty list when there are none.
 *
 * @example
 * lastN('item_id', 10, { window: '1h' });
 */
export function lastN(column: string, n: number, options?: WindowOptions): FeatureSpec {
  return Object.freeze({ ...feature('lastN', column, options), n });
}

/**
 * The value (null or not) of the latest row before `t`; with the view's `ttl`, only a row with
 * `ts >= t - ttl` counts.
 *
 * @example
 * field('segment');
 */
export function field(column: string): FeatureSpec {
  return feature('field', column);
}

/**
 * Declares a feature view: features of one entity computed from one source. Its features come
 * out as columns `<view>__<feature>`, so view and feature names may not contain `__`, the view
 * name may not start with `_`, and names must differ in more than case, like every name in a
 * project.
 *
 * @example
 * featureView({ name: 'txn_stats', entity: customer, source: transactions,
 *   features: { txn_count_1h: count({ window: '1h' }) } });
 */
export function featureView(options: {
  name: string;
  entity: EntitySpec;
  source: SourceSpec;
  features: Record<string, FeatureSpec>;
  ttl?: string;
  description?: string;
}): FeatureViewSpec {
  return Object.freeze({ kind: 'featureView', ...options, features: Object.freeze({ ...options.features }) });
}

/**
 * Declares a feature service: the set of features a model uses, as whole views or `"view:feature"`.
 *
 * @example
 * featureService({ name: 'fraud_v1', features: [txnStats, 'profile:segment'] });
 */
export function featureService(options: {
  name: string;
  features: Array<FeatureViewSpec | string>;
  description?: string;
}): FeatureServiceSpec {
  return Object.freeze({ kind: 'featureService', ...options, features: Object.freeze([...options.features]) });
}
