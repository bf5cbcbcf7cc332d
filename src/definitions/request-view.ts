import type { ClassificationSpec } from './compliance-types.js';
import type { ColumnType, FeatureSpec, FeatureViewSpec, RequestFeatureFunction, RequestViewSpec, Schema } from './types.js';

/**
 * The JavaScript value of each column type, as a request view's function receives and returns
 * it: int64 is a number when it is a safe integer and a bigint beyond (exact), a timestamp is
 * UTC epoch milliseconds.
 */
export interface ColumnValues {
  string: string;
  int64: number | bigint;
  float64: number;
  bool: boolean;
  timestamp: number;
}

/** The JavaScript value of any column type: scalars as {@link ColumnValues}, vectors and lists as arrays of their elements. */
export type ColumnValue<T> = T extends keyof ColumnValues
  ? ColumnValues[T]
  : T extends 'string[]'
    ? string[]
    : T extends 'int64[]'
      ? (number | bigint)[]
      : T extends ColumnType
        ? number[]
        : unknown;

/** The value type of one feature of a view over a source with schema `S` (null when it has none). */
export type FeatureValue<F, S extends Schema> =
  F extends FeatureSpec<infer Fn, infer C>
    ? (Fn extends 'count' | 'countDistinct' ? number
      : Fn extends 'sum' | 'avg' ? number
      : Fn extends 'lastN' ? (C extends keyof S ? ColumnValue<S[C]>[] : unknown[])
      : C extends keyof S ? ColumnValue<S[C]>
      : ColumnValue<ColumnType>) | null
    : unknown;

/** The value type of each feature of a view: what `featureView` records in its type for request views. */
export type FeatureValues<F extends Record<string, FeatureSpec>, S extends Schema> = { readonly [K in keyof F]: FeatureValue<F[K], S> };

// Spelled out (not an alias), so an error message shows the features and their types.
type ViewValues<V> = V extends FeatureViewSpec<string, infer T> ? { readonly [K in keyof T]: T[K] } & {} : never;

/**
 * What a request view's function receives: `request` (the request's values, never null) and,
 * per input view by its name, that view's features at the request's time.
 */
export type RequestInput<I extends readonly FeatureViewSpec[], R extends Schema> = { readonly request: { readonly [K in keyof R]: ColumnValue<R[K]> } } & {
  readonly [V in I[number] as V['name']]: ViewValues<V>;
};

/**
 * Declares a request view: features computed when they are asked for, from values sent with
 * the request (`request`) and the features of `inputs` (feature views of one entity) at that
 * time. Each feature is a pure TypeScript function; the same function computes the served
 * value (`POST /v1/features/online` with `"request": {...}`) and the training value (`dataset
 * build`, the spine carrying the request columns). Its argument is typed from the inputs'
 * features and the request schema, so a misspelt feature is a compile error; its result must
 * have the type `types` declares (or be null).
 *
 * An input feature with no value (an entity never seen, a view not materialized) is `null`
 * (counts: 0). A function that throws, or returns a value of the wrong type, gives null with
 * status `ERROR`. Functions must be deterministic: the same input gives the same output.
 *
 * @example
 * const paymentRisk = requestView({
 *   name: 'payment_risk',
 *   request: { amount: 'float64', merchant_country: 'string' },
 *   inputs: [txnStats, profile],
 *   features: {
 *     amount_vs_avg_7d: ({ request, txn_stats }) => txn_stats.amount_avg_7d === null ? null : request.amount / txn_stats.amount_avg_7d,
 *     foreign: ({ request, profile }) => request.merchant_country !== profile.country,
 *   },
 *   types: { amount_vs_avg_7d: 'float64', foreign: 'bool' },
 * });
 */
export function requestView<const I extends readonly FeatureViewSpec[], const R extends Schema, const T extends Readonly<Record<string, ColumnType>>>(options: {
  name: string;
  request: R;
  inputs: I;
  types: T;
  features: { readonly [K in keyof T]: (input: RequestInput<I, R>) => ColumnValue<T[K]> | null };
  description?: string;
  classify?: { readonly [K in keyof T]?: ClassificationSpec };
}): RequestViewSpec {
  return Object.freeze({
    kind: 'requestView',
    ...options,
    request: Object.freeze({ ...options.request }),
    inputs: Object.freeze([...options.inputs]),
    features: Object.freeze({ ...options.features }) as unknown as Readonly<Record<string, RequestFeatureFunction>>,
    types: Object.freeze({ ...options.types }),
  });
}
