import type { Check, CheckSpec } from './check-types.js';
import type { AlertChannel, Dataset, DatasetSpec, Schedule, ScheduleSpec, WebhookAlertSpec } from './operation-types.js';
import type { MaskRule, MaskSpec } from './masking-types.js';
import type { AccessRule, AccessRuleSpec } from './access-types.js';
import type { Classification, ClassificationSpec, OnlineStoreSpec, Transfer, TransferSpec } from './compliance-types.js';

export type * from './operation-types.js';
export type * from './compliance-types.js';
export type * from './masking-types.js';
export type * from './access-types.js';

/** Scalar column types a source schema may use. */
export type ScalarType = 'string' | 'int64' | 'float64' | 'bool' | 'timestamp';
export const COLUMN_TYPES: readonly ScalarType[] = ['string', 'int64', 'float64', 'bool', 'timestamp'];

/** A fixed-length vector (an embedding): `float32[768]`, `float64[3]`; N a positive integer. */
export type VectorType = `float32[${number}]` | `float64[${number}]`;
/** A list of any length: `string[]`, `int64[]`, `float64[]`. */
export type ListType = 'string[]' | 'int64[]' | 'float64[]';

/**
 * Column types a source schema may use: scalars, vectors and lists (see `parseColumnType`). Plain
 * strings, so a schema stays plain JSON.
 */
export type ColumnType = ScalarType | VectorType | ListType;

export type Schema = Readonly<Record<string, ColumnType>>;

/** The aggregations and lookups a feature can compute. */
export type FeatureFunction = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'last' | 'countDistinct' | 'field' | 'lastN';

/** What a user's builder returns for an entity: one join key, or several (`joinKeys`) for a composite key. */
export interface EntitySpec {
  readonly kind: 'entity';
  readonly name: string;
  readonly joinKey?: string;
  readonly joinKeys?: readonly string[];
  readonly description?: string;
  /** What the entity's key identifies (`pii("direct")`): its key columns in datasets carry it. Not part of any hash. */
  readonly classify?: ClassificationSpec;
}

export interface BatchSourceSpec<S extends Schema = Schema> {
  readonly kind: 'batchSource';
  readonly name: string;
  readonly schema: S;
  readonly timestamp: string;
  /** A column (string or int64) that identifies an event: rows whose id was ingested before are not added again. */
  readonly eventId?: string;
  readonly description?: string;
  /** Freshness SLA, e.g. "5m": stale when its newest committed data is older (see docs/observability.md). Not part of any value hash. */
  readonly freshness?: string;
  /** Where `sluice ingest SOURCE` (no file) reads new rows from: a Postgres table or query, by a cursor column. */
  readonly connector?: PostgresTableSpec;
  /**
   * Where its files come from, a glob relative to the project directory (`data/payments/*.csv`):
   * the job `ingest:<source>` ingests each new matching file once. Not part of any value hash.
   */
  readonly path?: string;
  /** Data quality checks on each batch (see docs/quality.md). Not part of any value hash. */
  readonly checks?: readonly CheckSpec[];
  /** What each column holds (`{ email: pii("direct") }`, see docs/compliance-classification.md). Not part of any value hash. */
  readonly classify?: Readonly<Partial<Record<string, ClassificationSpec>>>;
  /** Where its data lives (default: the project's region). Not part of any value hash. */
  readonly region?: string;
  /** How long events are kept, e.g. "400d": `sluice retention run` removes older ones from every store (see docs/compliance-retention.md). Not part of any value hash. */
  readonly retention?: string;
}

/** A value read from the environment when a connector starts: never stored in definitions, the registry or logs. */
export interface EnvRef {
  readonly kind: 'env';
  readonly name: string;
}

/** A connector setting that may hold a secret: given inline, or read from the environment (`env("NAME")`). */
export type Setting = string | EnvRef;

/** Consumes a NATS JetStream stream with a durable consumer. */
export interface NatsJetStreamSpec {
  readonly kind: 'natsJetStream';
  readonly servers: Setting;
  readonly stream: string;
  readonly subject: string;
  /** The durable consumer's name; defaults to `sluice_<source>`. */
  readonly durable?: string;
}

/** Follows one Postgres table by logical replication (pgoutput). */
export interface PostgresCdcSpec {
  readonly kind: 'postgresCdc';
  readonly connection: Setting;
  /** `schema.table`, e.g. `public.accounts`. */
  readonly table: string;
  /** The replication slot; defaults to `sluice_<source>`. */
  readonly slot?: string;
  /** The publication; defaults to `sluice_<source>`. */
  readonly publication?: string;
}

/**
 * Reads a Postgres table (or a query's rows) incrementally into a batch source: each ingest
 * takes the rows after the last committed `(cursor, key)`, in that order (see docs/postgres-ingest.md).
 */
export interface PostgresTableSpec {
  readonly kind: 'postgresTable';
  readonly connection: Setting;
  /** `schema.table`, e.g. `public.payments`; or give `query`. */
  readonly table?: string;
  /** A `SELECT` whose rows are read as the table's would be; or give `table`. */
  readonly query?: string;
  /** The column that grows as rows are added or changed (`updated_at`, a sequence). */
  readonly cursor: string;
  /** The column that orders rows with equal cursor values; defaults to the source's `eventId`. */
  readonly key?: string;
  /** Rows per page read (default 10,000). */
  readonly pageSize?: number;
}

export type ConnectorSpec = NatsJetStreamSpec | PostgresCdcSpec | PostgresTableSpec;

export interface StreamSourceSpec<S extends Schema = Schema> {
  readonly kind: 'streamSource';
  readonly name: string;
  readonly schema: S;
  readonly timestamp: string;
  readonly eventId?: string;
  /** How far behind the acknowledgement time an event may be: older ones are dead-lettered as "late". Default "1h". */
  readonly allowedLateness?: string;
  /** How far ahead of the acknowledgement time an event may be: later ones are dead-lettered as "future". Default "5m". */
  readonly maxClockSkew?: string;
  readonly connector?: NatsJetStreamSpec;
  readonly description?: string;
  /** Freshness SLA, e.g. "5m": stale when its newest committed data is older (see docs/observability.md). Not part of any value hash. */
  readonly freshness?: string;
  /** Data quality checks on each batch (see docs/quality.md). Not part of any value hash. */
  readonly checks?: readonly CheckSpec[];
  /** What each column holds (`{ email: pii("direct") }`, see docs/compliance-classification.md). Not part of any value hash. */
  readonly classify?: Readonly<Partial<Record<string, ClassificationSpec>>>;
  /** Where its data lives (default: the project's region). Not part of any value hash. */
  readonly region?: string;
  /** How long events are kept, e.g. "400d": `sluice retention run` removes older ones from every store (see docs/compliance-retention.md). Not part of any value hash. */
  readonly retention?: string;
}

export interface CdcSourceSpec<S extends Schema = Schema> {
  readonly kind: 'cdcSource';
  readonly name: string;
  /** The table's primary key column. */
  readonly key: string;
  readonly schema: S;
  readonly connector?: PostgresCdcSpec;
  readonly description?: string;
  /** Freshness SLA, e.g. "5m": stale when its newest committed data is older (see docs/observability.md). Not part of any value hash. */
  readonly freshness?: string;
  /** Data quality checks on each batch (see docs/quality.md). Not part of any value hash. */
  readonly checks?: readonly CheckSpec[];
  /** What each column holds (`{ email: pii("direct") }`, see docs/compliance-classification.md). Not part of any value hash. */
  readonly classify?: Readonly<Partial<Record<string, ClassificationSpec>>>;
  /** Where its data lives (default: the project's region). Not part of any value hash. */
  readonly region?: string;
  /** How long events are kept, e.g. "400d": `sluice retention run` removes older ones from every store (see docs/compliance-retention.md). Not part of any value hash. */
  readonly retention?: string;
}

/** Any source a project lists. */
export type SourceSpec = BatchSourceSpec | StreamSourceSpec | CdcSourceSpec;

/** `Fn` and `C` keep the function and column in the TypeScript type, so request views can type their inputs. */
export interface FeatureSpec<Fn extends FeatureFunction = FeatureFunction, C extends string = string> {
  readonly kind: 'feature';
  readonly fn: Fn;
  readonly column?: C;
  readonly window?: string;
  readonly hop?: string;
  /** `lastN`: how many values. */
  readonly n?: number;
  /** Overrides what the feature inherits from the columns it reads (`declassify(reason)`, `pii(level, { reason })`). Not part of any hash. */
  readonly classify?: ClassificationSpec;
}

/** A column a view derives from each source row: its type and a SQL expression over the row's source columns. */
export interface DerivedColumnSpec {
  readonly type: ColumnType;
  readonly sql: string;
  readonly description?: string;
}

/**
 * `N` and `V` are type-only: the view's name and the TypeScript type of each feature's value
 * (see `FeatureValues`), so a request view's function is typed from its inputs.
 */
export interface FeatureViewSpec<N extends string = string, V extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>> {
  readonly kind: 'featureView';
  readonly name: N;
  readonly entity: EntitySpec;
  readonly source: SourceSpec | SqlTransformSpec;
  /** A SQL boolean expression over a source row: rows for which it is not true are not the view's input. */
  readonly filter?: string;
  /** Columns computed from each source row, which features may read like source columns. */
  readonly columns?: Readonly<Record<string, DerivedColumnSpec>>;
  readonly ttl?: string;
  readonly features: Readonly<Record<string, FeatureSpec>>;
  readonly description?: string;
  /** Freshness SLA, e.g. "5m": stale when its online table reflects no data newer than this (see docs/observability.md). Not part of any value hash. */
  readonly freshness?: string;
  /** Drift thresholds per feature (see docs/drift.md); defaults warn 0.1, error 0.25, PSI. Not part of any value hash. */
  readonly drift?: Readonly<Partial<Record<string, DriftThreshold>>>;
  /** Data quality checks on the rows `materialize` writes (see docs/quality.md). Not part of any value hash. */
  readonly checks?: readonly CheckSpec[];
  /** How long the view's online entries and served history are kept, e.g. "90d" (see docs/compliance-retention.md). Not part of any value hash. */
  readonly retention?: string;
  /** Type-only (never set): the TypeScript type of each feature's value. */
  readonly '~values'?: V;
}

/** A feature service lists whole views (feature views or request views) or single features as `"view:feature"`. */
export type FeatureServiceEntry = FeatureViewSpec | RequestViewSpec | string;

export interface FeatureServiceSpec {
  readonly kind: 'featureService';
  readonly name: string;
  readonly features: readonly FeatureServiceEntry[];
  readonly description?: string;
  /** The sampled serving log (see docs/drift.md): the share of entity keys whose requests are logged. Not part of the hash. */
  readonly log?: { readonly sampleRate: number };
}

/** Drift thresholds of one feature: a warning at `warn`, an error at `error`, scored with PSI or Jensen-Shannon. */
export interface DriftThreshold {
  readonly warn?: number;
  readonly error?: number;
  readonly metric?: 'psi' | 'js';
}

export interface ProjectSpec {
  readonly kind: 'project';
  readonly name: string;
  readonly entities: readonly EntitySpec[];
  readonly sources: readonly SourceSpec[];
  readonly featureViews: readonly FeatureViewSpec[];
  readonly featureServices?: readonly FeatureServiceSpec[];
  readonly transforms?: readonly SqlTransformSpec[];
  readonly requestViews?: readonly RequestViewSpec[];
  /** Where alerts go (see `webhook`); `SLUICE_ALERT_WEBHOOK_URL` adds one more. */
  readonly alerts?: readonly WebhookAlertSpec[];
  /** When jobs run: cron schedules and event triggers (see `schedule`). */
  readonly schedules?: readonly ScheduleSpec[];
  /** Training datasets built as jobs (`dataset:<name>`, see `dataset`). */
  readonly datasets?: readonly DatasetSpec[];
  /** The default region of every source, transform, store and dataset (e.g. "eu-west-1"); see docs/compliance-classification.md. Outside the hash. */
  readonly region?: string;
  /** Where the online store lives (default: the project's region). Outside the hash. */
  readonly onlineStore?: OnlineStoreSpec;
  /** Transfer policies that let data move between regions (see `allowTransfer`). Outside the hash. */
  readonly transfers?: readonly TransferSpec[];
  /** How data is shown per role (see `mask`); outside every value hash. */
  readonly masking?: readonly MaskSpec[];
  /** Who may read, push, build datasets and administer (see `allow`, `deny`); any rule turns authentication on. */
  readonly access?: readonly AccessRuleSpec[];
}

// The validated, normalized project: plain JSON, what the registry stores and every layer reads.

export interface Entity {
  readonly name: string;
  /** The join key columns, in declaration order (one for a single key): the order of the entity key's parts. */
  readonly joinKeys: readonly string[];
  readonly description?: string;
  readonly hash: string;
  /** The classification of what the entity's key identifies; outside the hash. */
  readonly classify?: Classification;
}

/** What kind of history a source holds: files of events, a stream of events, or the changes of a table. */
export type SourceKind = 'batch' | 'stream' | 'cdc' | 'transform';

/**
 * The columns Sluice adds to a CDC source's schema: the commit time of a change (its event
 * time) and what the change did (`insert`, `update`, `delete`, or `snapshot` for a row of the
 * initial snapshot).
 */
export const CDC_CHANGED_AT = '_changed_at';
export const CDC_OP = '_op';

export interface Source {
  readonly name: string;
  /** Absent for a batch source (so existing definitions keep their hash); `transform` for a transform's output table. */
  readonly kind?: 'stream' | 'cdc' | 'transform';
  readonly schema: Schema;
  readonly timestamp: string;
  /** The column that identifies an event, when the source declares one (see `batchSource`). */
  readonly eventId?: string;
  /** Stream sources: streamed events older than acknowledgement time minus this are "late". */
  readonly allowedLatenessMs?: number;
  /** Stream and CDC sources: events newer than acknowledgement time plus this are "future". */
  readonly maxClockSkewMs?: number;
  /** CDC sources: the table's key column. */
  readonly key?: string;
  /** Where the source's events come from besides files and the push API; settings from `env()` stay references. */
  readonly connector?: ConnectorSpec;
  readonly description?: string;
  /** The freshness SLA as written and in ms (absent: none); outside the hash, as it changes no value. */
  readonly freshness?: string;
  readonly freshnessMs?: number;
  /** Batch sources: the glob of its files, relative to the project directory (see `BatchSourceSpec.path`); outside the hash. */
  readonly path?: string;
  /** Data quality checks, compiled (absent: none); outside the hash, as they change no value. */
  readonly checks?: readonly Check[];
  /** How long events are kept, as written and in ms (absent: for ever); outside the hash. */
  readonly retention?: string;
  readonly retentionMs?: number;
  readonly hash: string;
  /** Declared classification of its columns (absent: none); outside the hash. */
  readonly classify?: Readonly<Record<string, Classification>>;
  /** Where its data lives (absent when the project declares no region); outside the hash. */
  readonly region?: string;
}

export interface Feature {
  readonly name: string;
  readonly fn: FeatureFunction;
  readonly column?: string;
  readonly window?: string;
  readonly windowMs?: number;
  /** A hopped window's hop: the window holds `floor(t - windowMs, hopMs) <= ts < t`. */
  readonly hop?: string;
  readonly hopMs?: number;
  /** `lastN`: how many values (newest first). */
  readonly n?: number;
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
  /** Views of a CDC source: the column that says what a change did; a `delete` row means the entity is gone. */
  readonly changeOp?: string;
  /**
   * The row filter, compiled (see `compileExpression`): DuckDB SQL over a source row's typed
   * columns that is true for the rows the view reads. Every path evaluates this same text.
   */
  readonly filter?: string;
  /** Derived columns, compiled: name to type and the DuckDB SQL that computes the value from a source row's typed columns. */
  readonly derived?: Readonly<Record<string, DerivedColumn>>;
  readonly description?: string;
  /** The freshness SLA as written and in ms (absent: none); outside the hash, as it changes no value. */
  readonly freshness?: string;
  readonly freshnessMs?: number;
  /** Drift thresholds per feature, defaults filled in; outside the hash. */
  readonly drift?: Readonly<Record<string, Required<DriftThreshold>>>;
  /** Data quality checks, compiled (absent: none); outside the hash, as they change no value. */
  readonly checks?: readonly Check[];
  /** How long events are kept, as written and in ms (absent: for ever); outside the hash. */
  readonly retention?: string;
  readonly retentionMs?: number;
  readonly hash: string;
  /** Per-feature overrides of the inherited classification (absent: none); outside the hash. */
  readonly classify?: Readonly<Record<string, Classification>>;
  /** Where its online table lives: the online store's region (absent when the project declares no region); outside the hash. */
  readonly region?: string;
}

export interface DerivedColumn {
  readonly type: ColumnType;
  readonly sql: string;
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
  /** The serving log's sample rate for this service; outside the hash. */
  readonly log?: { readonly sampleRate: number };
  readonly hash: string;
}

export interface Project {
  readonly name: string;
  readonly entities: readonly Entity[];
  readonly sources: readonly Source[];
  readonly featureViews: readonly FeatureView[];
  readonly featureServices: readonly FeatureService[];
  /** SQL transforms, in declaration order (absent when there are none, so existing projects keep their hash). */
  readonly transforms?: readonly Transform[];
  /** Request-time views (see `requestView`); empty when the project has none. */
  readonly requestViews: readonly RequestView[];
  /** Alert channels (absent when there are none, so existing projects keep their hash). */
  readonly alerts?: readonly AlertChannel[];
  /** Schedules and triggers of jobs (absent when there are none); outside the hash, as they change no value. */
  readonly schedules?: readonly Schedule[];
  /** Declared training datasets (absent when there are none); outside the hash, as they change no value. */
  readonly datasets?: readonly Dataset[];
  /** Masking rules per role (absent when there are none); outside the hash, as they change no stored value. */
  readonly masking?: readonly MaskRule[];
  /** Access rules (absent when there are none); outside the hash, as they change no value. */
  readonly access?: readonly AccessRule[];
  readonly hash: string;
  /** The project's default region (absent: no residency); outside the hash. */
  readonly region?: string;
  /** The online store's region, when the project declares regions; outside the hash. */
  readonly onlineStore?: { readonly region: string };
  /** Transfer policies (absent when there are none); outside the hash. */
  readonly transfers?: readonly Transfer[];
}

/**
 * A SQL transform as the user declares it: a derived table in the lake, computed by one SELECT
 * over its inputs (sources or other transforms, named in the SQL by their names as tables).
 */
export interface SqlTransformSpec {
  readonly kind: 'sqlTransform';
  readonly name: string;
  readonly inputs: readonly (SourceSpec | SqlTransformSpec)[];
  readonly sql: string;
  /** The result's event-time column (type `timestamp`). */
  readonly timestamp: string;
  /** The result's columns and types, checked against the query at `plan` and at every run. */
  readonly schema: Schema;
  /** For an append-only first input: a run processes only its rows added since the last run (other inputs whole, as lookups) and appends its result. */
  readonly incremental?: boolean;
  readonly description?: string;
  /** Data quality checks on each run's result, before it commits (see docs/quality.md). Not part of any value hash. */
  readonly checks?: readonly CheckSpec[];
  /** What each column holds (`{ email: pii("direct") }`, see docs/compliance-classification.md). Not part of any value hash. */
  readonly classify?: Readonly<Partial<Record<string, ClassificationSpec>>>;
  /** Where its data lives (default: the project's region). Not part of any value hash. */
  readonly region?: string;
}

/** A validated SQL transform. Its output table is also in `Project.sources` as a source of kind `transform`. */
export interface Transform {
  readonly name: string;
  /** The names of its inputs (sources or transforms), in declaration order. */
  readonly inputs: readonly string[];
  readonly sql: string;
  readonly timestamp: string;
  readonly schema: Schema;
  readonly incremental?: true;
  readonly description?: string;
  /** Covers what changes the output's values: inputs, SQL, timestamp, schema, mode (not the description). */
  readonly hash: string;
  /**
   * Per output column, the input columns (`<input>.<column>`) it reads and how (`TransformInput`),
   * read from DuckDB's parse tree when the project is loaded (`parsedTransformLineage`) and stored
   * with it in the registry; outside the hash. Absent (a project compiled without an engine, or
   * applied before 11-30 evening): every output column counts as possibly read from every input column.
   */
  readonly columnInputs?: Readonly<Record<string, readonly TransformInput[]>>;
  /** The input columns that decide which rows the transform outputs (filters, joins, groupings, sorts), all INDIRECT, from the same parse; absent with `columnInputs`. */
  readonly rowInputs?: readonly TransformInput[];
}

import type { LineageSubtype, LineageTransformation, TransformInput } from './lineage-transformation.js';
export type { LineageSubtype, LineageTransformation, TransformInput };

import type { RequestFeature, RequestFeatureFunction, RequestView, RequestViewSpec } from './request-view-types.js';
export type { RequestFeature, RequestFeatureFunction, RequestView, RequestViewSpec };
