/** Column types a source schema may use. */
export type ColumnType = 'string' | 'int64' | 'float64' | 'bool' | 'timestamp';
export const COLUMN_TYPES: readonly ColumnType[] = ['string', 'int64', 'float64', 'bool', 'timestamp'];

export type Schema = Readonly<Record<string, ColumnType>>;

/** The aggregations and lookups a feature can compute. */
export type FeatureFunction = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'last' | 'countDistinct' | 'field';

/** What a user's builder returns for an entity: one join key, or several (`joinKeys`) for a composite key. */
export interface EntitySpec {
  readonly kind: 'entity';
  readonly name: string;
  readonly joinKey?: string;
  readonly joinKeys?: readonly string[];
  readonly description?: string;
}

export interface BatchSourceSpec {
  readonly kind: 'batchSource';
  readonly name: string;
  readonly schema: Schema;
  readonly timestamp: string;
  /** A column (string or int64) that identifies an event: rows whose id was ingested before are not added again. */
  readonly eventId?: string;
  readonly description?: string;
}

export interface FeatureSpec {
  readonly kind: 'feature';
  readonly fn: FeatureFunction;
  readonly column?: string;
  readonly window?: string;
}

export interface FeatureViewSpec {
  readonly kind: 'featureView';
  readonly name: string;
  readonly entity: EntitySpec;
  readonly source: BatchSourceSpec;
  readonly ttl?: string;
  readonly features: Readonly<Record<string, FeatureSpec>>;
  readonly description?: string;
}

/** A feature service lists whole views or single features as `"view:feature"`. */
export type FeatureServiceEntry = FeatureViewSpec | string;

export interface FeatureServiceSpec {
  readonly kind: 'featureService';
  readonly name: string;
  readonly features: readonly FeatureServiceEntry[];
  readonly description?: string;
}

export interface ProjectSpec {
  readonly kind: 'project';
  readonly name: string;
  readonly entities: readonly EntitySpec[];
  readonly sources: readonly BatchSourceSpec[];
  readonly featureViews: readonly FeatureViewSpec[];
  readonly featureServices?: readonly FeatureServiceSpec[];
}

// The validated, normalized project: plain JSON, what the registry stores and every layer reads.

export interface Entity {
  readonly name: string;
  /** The join key columns, in declaration order (one for a single key): the order of the entity key's parts. */
  readonly joinKeys: readonly string[];
  readonly description?: string;
  readonly hash: string;
}

export interface Source {
  readonly name: string;
  readonly schema: Schema;
  readonly timestamp: string;
  /** The column that identifies an event, when the source declares one (see `batchSource`). */
  readonly eventId?: string;
  readonly description?: string;
  readonly hash: string;
}

export interface Feature {
  readonly name: string;
  readonly fn: FeatureFunction;
  readonly column?: string;
  readonly window?: string;
  readonly windowMs?: number;
  /** The type of the served value. */
  readonly valueType: ColumnType;
}

export interface FeatureView {
  readonly name: string;
  readonly entity: string;
  /** The entity's join key columns, in the entity's order. */
  readonly joinKeys: readonly string[];
  readonly source: string;
  readonly ttl?: string;
  readonly ttlMs?: number;
  readonly features: readonly Feature[];
  /** The source types of the join key columns and of the columns the features read. */
  readonly columnTypes: Readonly<Record<string, ColumnType>>;
  readonly description?: string;
  readonly hash: string;
}

/** A feature named by its view: the output column is `<view>__<feature>`. */
export interface FeatureRef {
  readonly view: string;
  readonly feature: string;
}

export interface FeatureService {
  readonly name: string;
  readonly features: readonly FeatureRef[];
  readonly description?: string;
  readonly hash: string;
}

export interface Project {
  readonly name: string;
  readonly entities: readonly Entity[];
  readonly sources: readonly Source[];
  readonly featureViews: readonly FeatureView[];
  readonly featureServices: readonly FeatureService[];
  readonly hash: string;
}
