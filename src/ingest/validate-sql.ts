import { aColumnType, entityKeySql, MAX_KEY_BYTES, float64TextSql, int64TextSql, INT64_TEXT_PATTERN, listShape, type ColumnType, type ScalarType, type Source } from '../definitions/index.js';
import { ident, literal } from '../storage/engine/sql-engine.js';
import { parseTimestampSql } from '../time/index.js';
import { ELEMENT_SQL, listProblemSql, parsedListSql, UNQUOTED_VALUE } from './list-values-sql.js';

/** The SQL type a scalar schema type is stored as in the lake (see {@link storageType} for every type). */
export const STORAGE_TYPE: Readonly<Record<ScalarType, string>> = {
  string: 'VARCHAR',
  int64: 'BIGINT',
  float64: 'DOUBLE',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
};

/**
 * The SQL type a schema type is stored as in the lake: vectors and lists as DuckDB lists
 * (`FLOAT[]`, `DOUBLE[]`, `BIGINT[]`, `VARCHAR[]`), which Parquet holds as LIST columns (a
 * vector's length is checked at ingest, not stored in the type).
 */
export function storageType(type: ColumnType): string {
  const shape = listShape(type);
  return shape === undefined ? STORAGE_TYPE[type as ScalarType] : `${ELEMENT_SQL[shape.element]}[]`;
}

/** The typed value of a text column, NULL when the text is not a valid value of `type`. */
export function parsedValueSql(column: string, type: ColumnType): string {
  const c = ident(column);
  const shape = listShape(type);
  if (shape !== undefined) return parsedListSql(column, shape);
  switch (type) {
    case 'string':
      return c;
    case 'timestamp':
      return parseTimestampSql(c);
    case 'float64':
      return float64TextSql(c);
    case 'int64':
      return int64TextSql(c);
    default:
      return `TRY_CAST(${c} AS ${storageType(type)})`;
  }
}

function typeCheckSql(column: string, type: ColumnType, classified: boolean): string {
  const c = ident(column);
  const bad = (what: string): string => (classified ? literal(`column "${column}": ${UNQUOTED_VALUE} ${what}`) : `${literal(`column "${column}": `)} || to_json(${c}) || ${literal(` ${what}`)}`);
  if (type === 'string') return 'NULL';
  const shape = listShape(type);
  if (shape !== undefined) return listProblemSql(column, shape, classified);
  if (type === 'int64') {
    return `CASE WHEN ${c} IS NULL THEN NULL WHEN NOT regexp_full_match(${c}, '${INT64_TEXT_PATTERN}') THEN ${bad('is not an int64 (write a whole number in decimal digits)')} WHEN TRY_CAST(${c} AS BIGINT) IS NULL THEN ${bad('is outside the int64 range (-2^63 to 2^63-1)')} END`;
  }
  return `CASE WHEN ${c} IS NOT NULL AND ${parsedValueSql(column, type)} IS NULL THEN ${bad(`is not ${aColumnType(type)}`)} END`;
}

/** A column that must be present in every row, and why. */
const requiredSql = (column: string, what: string): string => `CASE WHEN ${ident(column)} IS NULL THEN ${literal(`column "${column}": ${what} is missing`)} END`;

/** The event id: present, and short enough for the log to remember it (see {@link MAX_KEY_BYTES}). */
function eventIdCheckSql(column: string): string {
  const c = ident(column);
  const prefix = `column "${column}": the event id`;
  return `CASE WHEN ${c} IS NULL THEN ${literal(`${prefix} is missing`)} WHEN strlen(${c}) > ${MAX_KEY_BYTES} THEN ${literal(`${prefix} is `)} || strlen(${c}) || ${literal(` bytes; event ids may be at most ${MAX_KEY_BYTES} UTF-8 bytes`)} END`;
}

/** An entity join key column of a source: the column, and the entity it identifies. */
export interface SourceKey {
  readonly column: string;
  readonly entity: string;
}

function keyCheckSql({ column, entity }: SourceKey): string {
  const c = ident(column);
  const prefix = `column "${column}": the join key of entity "${entity}"`;
  return `CASE WHEN ${c} IS NULL OR ${c} = '' THEN ${literal(`${prefix} is missing`)} WHEN strlen(${c}) > ${MAX_KEY_BYTES} THEN ${literal(`${prefix} is `)} || strlen(${c}) || ${literal(` bytes; keys may be at most ${MAX_KEY_BYTES} UTF-8 bytes`)} END`;
}

/** An entity whose key has several columns: the key as a whole must fit the online store too. */
export interface CompositeKey {
  readonly entity: string;
  readonly columns: readonly string[];
}

function compositeKeyCheckSql({ entity, columns }: CompositeKey): string {
  const key = `strlen(${entityKeySql(columns.map(ident))})`;
  return `CASE WHEN ${key} > ${MAX_KEY_BYTES} THEN ${literal(`the key of entity "${entity}" (${columns.join(', ')}) is `)} || ${key} || ${literal(` bytes encoded; keys may be at most ${MAX_KEY_BYTES} UTF-8 bytes`)} END`;
}

/**
 * The reason a text row breaks the source's rules, as one SQL expression: `''` when the row is
 * valid. Checked set-based in DuckDB: a problem found while reading (`_problem`) first; then
 * every column's type, the event timestamp present, the event id present and short enough for
 * the log, and every entity join key
 * present and short enough for the online store (a composite key as a whole, too). A reason
 * quotes the offending value, except for the `classified` columns (see `classifiedColumns`).
 */
export function rejectReasonSql(source: Source, keys: readonly SourceKey[], composites: readonly CompositeKey[] = [], classified: ReadonlySet<string> = new Set()): string {
  const checks = Object.entries(source.schema).map(([column, type]) =>
    column === source.timestamp
      ? `coalesce(${requiredSql(column, 'the event timestamp')}, ${typeCheckSql(column, type, classified.has(column))})`
      : typeCheckSql(column, type, classified.has(column)),
  );
  if (source.eventId !== undefined) checks.push(eventIdCheckSql(source.eventId));
  checks.push(...keys.map(keyCheckSql), ...composites.map(compositeKeyCheckSql));
  return `coalesce(_problem, concat_ws('; ', ${checks.join(', ')}))`;
}

/** The lake column that records when Sluice first knew an event (UTC epoch ms). */
export const KNOWN_AT_COLUMN = '_known_at';

/**
 * When the events of a write became known to Sluice, as `typedColumnsSql` writes it into
 * `_known_at`: `event` (the event time itself: backfill that was always known), `ingestion`
 * (one instant `at`, epoch ms, for the whole write: a file ingested now), or `sql`, an
 * expression over the input row giving epoch ms (a stream writer's acknowledgement column).
 */
export type KnownAt =
  | { readonly mode: 'event' }
  | { readonly mode: 'ingestion'; readonly at: number }
  | { readonly mode: 'sql'; readonly sql: string };

/** A valid text column's value in its lake storage type (a timestamp from epoch ms). */
export function typedValueSql(column: string, type: ColumnType): string {
  return type === 'timestamp' ? `epoch_ms(${parsedValueSql(column, type)})` : `${parsedValueSql(column, type)}::${storageType(type)}`;
}

/**
 * The typed lake columns of a valid text row: the schema columns in their storage types, `_ts`
 * (the event time in epoch ms), `_seq` (ingestion order, from `firstSeq`, in input order) and
 * `_known_at` (when Sluice first knew the row, epoch ms, see {@link KnownAt}; default the event time).
 *
 * @example
 * // a stream writer: the acknowledgement time is column `_ack` (epoch ms) of the input table
 * `SELECT ${typedColumnsSql(source, firstSeq, { mode: 'sql', sql: '_ack' })} FROM batch ORDER BY _n`
 */
export function typedColumnsSql(source: Source, firstSeq: number, knownAt: KnownAt = { mode: 'event' }): string {
  const columns = Object.entries(source.schema).map(([column, type]) => `${typedValueSql(column, type)} AS ${ident(column)}`);
  const eventTime = parsedValueSql(source.timestamp, 'timestamp');
  const known = knownAt.mode === 'event' ? eventTime : knownAt.mode === 'ingestion' ? String(Math.trunc(knownAt.at)) : `(${knownAt.sql})`;
  return [
    ...columns,
    `${eventTime} AS _ts`,
    `(${firstSeq} + row_number() OVER (ORDER BY _n) - 1)::BIGINT AS _seq`,
    `(${known})::BIGINT AS ${KNOWN_AT_COLUMN}`,
  ].join(', ');
}
