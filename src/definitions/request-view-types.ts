/** Request views' definition types (split from types.ts, which re-exports them). */
import type { ClassificationSpec, Classification, ColumnType, FeatureViewSpec, Schema } from './types.js';

/** What a request view's feature function receives and returns, as the platform calls it (see `requestView` for the typed form). */
export type RequestFeatureFunction = (input: Readonly<Record<string, Readonly<Record<string, unknown>>>>) => unknown;

/** What `requestView` returns: features computed at request time from a request's values and input views' features. */
export interface RequestViewSpec {
  readonly kind: 'requestView';
  readonly name: string;
  /** The values each request (and each spine row) carries, by name and type. */
  readonly request: Schema;
  readonly inputs: readonly FeatureViewSpec[];
  readonly features: Readonly<Record<string, RequestFeatureFunction>>;
  readonly types: Readonly<Record<string, ColumnType>>;
  readonly description?: string;
  /** Per-feature overrides of the classification a feature inherits from its input views. Not part of any hash. */
  readonly classify?: Readonly<Partial<Record<string, ClassificationSpec>>>;
}

export interface RequestFeature {
  readonly name: string;
  readonly valueType: ColumnType;
  /** The content hash of the function's source text (`fn.toString()`): the registry cannot hold the function itself. */
  readonly sourceHash: string;
}

/** A compiled request view: plain JSON; its functions come from the loaded project file, checked against `sourceHash`. */
export interface RequestView {
  readonly name: string;
  readonly request: Schema;
  /** The input feature views, in declaration order; they share one entity. */
  readonly inputs: readonly string[];
  /** The join key columns of the input views' entity. */
  readonly joinKeys: readonly string[];
  readonly features: readonly RequestFeature[];
  readonly description?: string;
  readonly hash: string;
  /** Per-feature overrides of the inherited classification (absent: none); outside the hash. */
  readonly classify?: Readonly<Record<string, Classification>>;
}
