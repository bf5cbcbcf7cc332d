import { ConfigError } from '../errors.js';
import type { CheckSpec } from './check-types.js';
import type { ClassificationSpec } from './compliance-types.js';
import type { CdcSourceSpec, EnvRef, NatsJetStreamSpec, PostgresCdcSpec, PostgresTableSpec, Schema, Setting, StreamSourceSpec } from './types.js';

/**
 * A connector setting read from the environment variable `name` when the connector starts. The
 * definitions, the registry and the logs hold only the reference, never the value.
 *
 * @example
 * natsJetStream({ servers: env('NATS_URL'), stream: 'PAYMENTS', subject: 'payments.>' });
 */
export function env(name: string): EnvRef {
  return Object.freeze({ kind: 'env', name });
}

/**
 * Declares a stream source: events pushed (`POST /v1/push/<source>`), read by a connector, or
 * ingested from files (a backfill), all in one history. A streamed event older than its
 * acknowledgement time minus `allowedLateness` (default `"1h"`) is dead-lettered as `late`; one
 * newer than the acknowledgement time plus `maxClockSkew` (default `"5m"`) as `future`. Files
 * are never late.
 *
 * @example
 * const payments = streamSource({
 *   name: 'payments',
 *   schema: { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' },
 *   timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h',
 *   connector: natsJetStream({ servers: env('NATS_URL'), stream: 'PAYMENTS', subject: 'payments.>' }),
 * });
 */
export function streamSource<const S extends Schema>(options: {
  name: string;
  schema: S;
  timestamp: string;
  eventId?: string;
  allowedLateness?: string;
  maxClockSkew?: string;
  connector?: NatsJetStreamSpec;
  description?: string;
  freshness?: string;
  checks?: readonly CheckSpec[];
  classify?: { readonly [K in keyof S]?: ClassificationSpec };
  region?: string;
  retention?: string;
}): StreamSourceSpec<S> {
  return Object.freeze({ kind: 'streamSource', ...options, schema: Object.freeze({ ...options.schema }) });
}

/**
 * Declares a CDC source: a table in a system of record, followed change by change. Each change
 * takes effect at its commit time; `field()` features answer the row as it was at `t`, and
 * after a delete the entity is gone (`NOT_FOUND`).
 *
 * @example
 * const accounts = cdcSource({
 *   name: 'accounts', key: 'account_id',
 *   schema: { account_id: 'string', tier: 'string', credit_limit: 'float64' },
 *   connector: postgresCdc({ connection: env('CRM_DATABASE_URL'), table: 'public.accounts' }),
 * });
 */
export function cdcSource<const S extends Schema>(options: {
  name: string; key: string; schema: S; connector?: PostgresCdcSpec; description?: string; freshness?: string; checks?: readonly CheckSpec[];
  classify?: { readonly [K in keyof S]?: ClassificationSpec }; region?: string; retention?: string;
}): CdcSourceSpec<S> {
  return Object.freeze({ kind: 'cdcSource', ...options, schema: Object.freeze({ ...options.schema }) });
}

/**
 * Reads a NATS JetStream stream with a durable consumer (default name `sluice_<source>`); a
 * message is acknowledged only once its event is durable in Sluice.
 *
 * @example
 * natsJetStream({ servers: env('NATS_URL'), stream: 'PAYMENTS', subject: 'payments.>' });
 */
export function natsJetStream(options: { servers: Setting; stream: string; subject: string; durable?: string }): NatsJetStreamSpec {
  return Object.freeze({ kind: 'natsJetStream', ...options });
}

/**
 * Follows a Postgres table by logical replication (pgoutput): an initial snapshot, then every
 * insert, update and delete, resuming after a restart where it stopped. The server needs
 * `wal_level = logical`; the slot and publication default to `sluice_<source>`.
 *
 * @example
 * postgresCdc({ connection: env('CRM_DATABASE_URL'), table: 'public.accounts' });
 */
export function postgresCdc(options: { connection: Setting; table: string; slot?: string; publication?: string }): PostgresCdcSpec {
  return Object.freeze({ kind: 'postgresCdc', ...options });
}

/**
 * Reads a Postgres table, or the rows of a query, into a batch source, incrementally:
 * `sluice ingest SOURCE` (no file) takes the rows after the last committed `(cursor, key)` pair,
 * in that order, in pages, and commits the new high-water mark with the snapshot. `key`
 * defaults to the source's `eventId`. See docs/postgres-ingest.md for what a cursor can miss.
 *
 * @example
 * postgresTable({ connection: env('DB_URL'), table: 'public.payments', cursor: 'updated_at', key: 'payment_id' });
 */
export function postgresTable(options: { connection: Setting; table?: string; query?: string; cursor: string; key?: string; pageSize?: number }): PostgresTableSpec {
  return Object.freeze({ kind: 'postgresTable', ...options });
}

/**
 * The value of a setting: the text itself, or the environment variable it names. Connectors call
 * this when they start, never before.
 *
 * @example
 * resolveSetting(env('NATS_URL'), 'source "payments": connector servers');
 */
export function resolveSetting(setting: Setting, where: string, environment: NodeJS.ProcessEnv = process.env): string {
  if (typeof setting === 'string') return setting;
  const value = environment[setting.name];
  if (value === undefined || value === '') {
    throw new ConfigError('CONFIG_INVALID', `${where} reads environment variable ${setting.name}, which is not set; set it (export ${setting.name}=...) before starting`);
  }
  return value;
}
