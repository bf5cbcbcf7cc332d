import { parseDuration } from '../time/index.js';
import { compileChecks } from './compile-checks.js';
import { contentHash } from './hash.js';
import { didYouMean } from './suggest.js';
import { columnTypeProblem, isListType } from './column-types.js';
import { CDC_CHANGED_AT, CDC_OP, type BatchSourceSpec, type CdcSourceSpec, type ConnectorSpec, type EnvRef, type PostgresTableSpec, type Setting, type Source, type SourceSpec } from './types.js';
import { refuseInlineSecret } from './inline-secret.js';
import { checkProjectPath } from './project-path.js';
import { checkColumnName, checkDurationText, checkRecord, fail, noCollisions, own } from './validate-names.js';

/** A duration option of a source, in ms; `fallback` when absent. */
function sourceDuration(spec: SourceSpec, option: 'allowedLateness' | 'maxClockSkew', fallback: string): number {
  const text = (spec as Partial<Record<typeof option, unknown>>)[option] ?? fallback;
  const where = `source "${spec.name}"`;
  checkDurationText(where, option, text, fallback);
  const ms = text === '0' || /^0+(ms|s|m|h|d)$/.test(text) ? 0 : parseDuration(text);
  if (ms === undefined) fail(`${where}: ${option} "${text}" is not a duration; write e.g. "${fallback}"`);
  return ms;
}

function compileConnector(spec: SourceSpec, expected: ConnectorSpec['kind']): { connector?: ConnectorSpec } {
  const connector = (spec as { connector?: ConnectorSpec }).connector;
  if (connector === undefined) return {};
  const where = `source "${spec.name}": connector`;
  if (connector?.kind !== expected) fail(`${where} must be built with ${expected}({...})`);
  const settings = connector.kind === 'natsJetStream' ? (['servers'] as const) : (['connection'] as const);
  for (const setting of settings) {
    const value = (connector as unknown as Record<string, unknown>)[setting];
    const isEnv = typeof value === 'object' && value !== null && (value as EnvRef).kind === 'env' && typeof (value as EnvRef).name === 'string';
    if (typeof value !== 'string' && !isEnv) fail(`${where}: ${setting} must be a string or env("NAME")`);
    refuseInlineSecret(`${where} ${setting}`, value as Setting, `${spec.name.toUpperCase()}_${connector.kind === 'natsJetStream' ? 'NATS' : 'DB'}_URL`);
  }
  return { connector: JSON.parse(JSON.stringify(connector)) as ConnectorSpec };
}

/** A CDC source as the lake holds it: its table's columns, then when each change was committed and what it did. */
function compileCdcSource(spec: CdcSourceSpec): Source {
  const base = compileBatchSource({ kind: 'batchSource', name: spec.name, schema: spec.schema, timestamp: spec.key, description: spec.description }, false);
  const list = Object.entries(spec.schema).find(([, type]) => isListType(type));
  if (list !== undefined) fail(`source "${spec.name}": column "${list[0]}" has type "${list[1]}"; CDC sources carry scalar columns only (vectors and lists come from files, streams and the push API)`);
  const keyType = own(spec.schema, spec.key);
  if (keyType === undefined) fail(`source "${spec.name}": key column "${spec.key}" is not in its schema${didYouMean(spec.key, Object.keys(spec.schema))}`);
  if (keyType !== 'string' && keyType !== 'int64') fail(`source "${spec.name}": key column "${spec.key}" has type "${keyType}"; it must be string or int64`);
  const body = {
    name: spec.name,
    kind: 'cdc' as const,
    schema: { ...base.schema, [CDC_CHANGED_AT]: 'timestamp' as const, [CDC_OP]: 'string' as const },
    timestamp: CDC_CHANGED_AT,
    key: spec.key,
    maxClockSkewMs: sourceDuration(spec, 'maxClockSkew', '5m'),
    ...compileConnector(spec, 'postgresCdc'),
    description: spec.description,
  };
  return { ...body, hash: contentHash(body) };
}

/**
 * Validates a source of any kind into the plain, hashed {@link Source}: a batch source as
 * declared; a stream source with its lateness and clock skew in ms; a CDC source with Sluice's
 * `_changed_at` and `_op` columns added. Connector settings given with `env()` stay references.
 */
export function compileSource(spec: SourceSpec): Source {
  const source = compileSourceValues(spec);
  // After the hash: a freshness SLA, checks, a file glob or where a batch source's rows are read
  // from change no value, so adding one keeps the source's hash.
  const checks = compileChecks({ where: `source "${spec.name}"`, schema: source.schema, timestamp: source.timestamp }, spec.checks);
  const connector = spec.kind === 'batchSource' ? compileTableConnector(spec) : {};
  return { ...source, ...connector, ...compileFreshness(`source "${spec.name}"`, spec.freshness), ...(checks.length > 0 ? { checks } : {}), ...compilePath(spec), ...compileRetention(`source "${spec.name}"`, spec.retention) };
}

function compilePath(spec: SourceSpec): { path?: string } {
  const path = (spec as { path?: unknown }).path;
  if (path === undefined) return {};
  if (spec.kind !== 'batchSource') fail(`source "${spec.name}": path is for batch sources (files); a ${spec.kind} takes its events from its connector or the push API`);
  if (typeof path !== 'string' || path.trim() === '') fail(`source "${spec.name}": path must be a glob of its files relative to the project directory, e.g. "data/${spec.name}/*.csv"`);
  checkProjectPath(`source "${spec.name}"`, 'path', path, `data/${spec.name}/*.csv`);
  return { path };
}

/** A batch source's `postgresTable` connector, checked: one of table or query, a cursor and a key column of its schema. */
function compileTableConnector(spec: BatchSourceSpec): { connector?: PostgresTableSpec } {
  const { connector } = compileConnector(spec, 'postgresTable') as { connector?: PostgresTableSpec };
  if (connector === undefined) return {};
  const where = `source "${spec.name}": postgresTable`;
  const given = (text: unknown): boolean => typeof text === 'string' && text.trim() !== '';
  if (given(connector.table) === given(connector.query)) fail(`${where} needs exactly one of table ("public.payments") or query ("SELECT ...")`);
  const columns = Object.keys(spec.schema);
  const cursorType = typeof connector.cursor === 'string' ? own(spec.schema, connector.cursor) : undefined;
  if (cursorType === undefined) fail(`${where}: cursor column "${String(connector.cursor)}" is not in the source's schema${didYouMean(String(connector.cursor), columns)}`);
  if (!['timestamp', 'int64', 'string', 'float64'].includes(cursorType)) fail(`${where}: cursor column "${connector.cursor}" has type "${cursorType}"; use a timestamp, int64, float64 or string column that grows as rows change`);
  const key = connector.key ?? spec.eventId;
  if (key === undefined) fail(`${where}: give key: "<column>" (or the source's eventId), a column that tells apart rows with the same cursor value`);
  const keyType = own(spec.schema, key);
  if (keyType === undefined) fail(`${where}: key column "${key}" is not in the source's schema${didYouMean(key, columns)}`);
  if (keyType !== 'string' && keyType !== 'int64') fail(`${where}: key column "${key}" has type "${keyType}"; it must be string or int64`);
  const pageSize = connector.pageSize;
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1_000_000)) fail(`${where}: pageSize ${pageSize} must be a whole number from 1 to 1000000`);
  return { connector: { ...connector, key } };
}

/**
 * A `freshness` option (an SLA such as "5m") checked, as written and in ms; empty when absent.
 *
 * @example
 * compileFreshness('source "txns"', '5m'); // { freshness: '5m', freshnessMs: 300000 }
 */
export function compileFreshness(where: string, text: unknown): { freshness?: string; freshnessMs?: number } {
  if (text === undefined) return {};
  return { freshness: text as string, freshnessMs: positiveDuration(where, 'freshness', text, '5m') };
}

/** A duration option's text checked as a positive duration, in ms. */
function positiveDuration(where: string, option: string, text: unknown, example: string): number {
  checkDurationText(where, option, text, example);
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) fail(`${where}: ${option} "${text}" is not a positive duration; write e.g. "${example}"`);
  return ms;
}

/**
 * A `retention` option (how long events are kept, such as "400d") checked, as written and in ms;
 * empty when absent.
 *
 * @example
 * compileRetention('source "txns"', '400d'); // { retention: '400d', retentionMs: 34560000000 }
 */
export function compileRetention(where: string, text: unknown): { retention?: string; retentionMs?: number } {
  if (text === undefined) return {};
  return { retention: text as string, retentionMs: positiveDuration(where, 'retention', text, '400d') };
}

function compileSourceValues(spec: SourceSpec): Source {
  if (spec.kind === 'cdcSource') return compileCdcSource(spec);
  if (spec.kind === 'batchSource') return compileBatchSource(spec);
  const base = compileBatchSource({ kind: 'batchSource', name: spec.name, schema: spec.schema, timestamp: spec.timestamp, eventId: spec.eventId, description: spec.description }, false);
  const { hash: _hash, ...fields } = base;
  const body = {
    ...fields,
    kind: 'stream' as const,
    allowedLatenessMs: sourceDuration(spec, 'allowedLateness', '1h'),
    maxClockSkewMs: sourceDuration(spec, 'maxClockSkew', '5m'),
    ...compileConnector(spec, 'natsJetStream'),
  };
  return { ...body, hash: contentHash(body) };
}

function compileBatchSource(spec: BatchSourceSpec, checkTimestamp = true): Source {
  checkRecord(spec.schema, `source "${spec.name}": schema must be an object of column name to type, e.g. { amount: 'float64' }`);
  const columns = Object.keys(spec.schema);
  if (columns.length === 0) fail(`source "${spec.name}": schema is empty; declare its columns and types`);
  for (const [column, type] of Object.entries(spec.schema)) {
    checkColumnName(spec.name, column);
    const problem = columnTypeProblem(type);
    if (problem !== undefined) fail(`source "${spec.name}": column "${column}" has type "${String(type)}"; ${problem}`);
  }
  noCollisions('columns', columns, `source "${spec.name}": `);
  const tsType = checkTimestamp ? own(spec.schema, spec.timestamp) : 'timestamp';
  if (tsType === undefined) {
    fail(`source "${spec.name}": timestamp column "${spec.timestamp}" is not in its schema${didYouMean(spec.timestamp, columns)}`);
  }
  if (tsType !== 'timestamp') fail(`source "${spec.name}": timestamp column "${spec.timestamp}" has type "${tsType}"; it must be "timestamp"`);
  if (spec.eventId !== undefined) {
    const idType = spec.schema[spec.eventId];
    if (idType === undefined) fail(`source "${spec.name}": eventId column "${spec.eventId}" is not in its schema${didYouMean(spec.eventId, columns)}`);
    if (idType !== 'string' && idType !== 'int64') fail(`source "${spec.name}": eventId column "${spec.eventId}" has type "${idType}"; it must be string or int64`);
  }
  const eventId = spec.eventId === undefined ? {} : { eventId: spec.eventId };
  const body = { name: spec.name, schema: { ...spec.schema }, timestamp: spec.timestamp, ...eventId, description: spec.description };
  return { ...body, hash: contentHash(body) };
}

/**
 * Whether a source takes events as they happen (a stream or CDC source: push, connectors, the
 * durable log). Batch sources take files; a transform's table is written only by its runs.
 *
 * @example
 * project.sources.filter(isStreamed);
 */
export function isStreamed(source: Source): source is Source & { readonly kind: 'stream' | 'cdc' } {
  return source.kind === 'stream' || source.kind === 'cdc';
}
