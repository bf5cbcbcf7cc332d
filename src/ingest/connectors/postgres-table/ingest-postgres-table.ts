import { createHash } from 'node:crypto';
import { findSource, type Project } from '../../../definitions/index.js';
import { AdapterError, isSluiceError } from '../../../errors.js';
import type { SluiceContext } from '../../../context.js';
import { withLease } from '../../../orchestration/lease.js';
import { trackRun } from '../../../orchestration/track-run.js';
import { currentLogger } from '../../../observability/log.js';
import { sourceBatchDrift } from '../../../observability/drift/source-batch-drift.js';
import { reportSchemaChange, schemaChangeOf } from '../../../observability/status/report-schema-change.js';
import { ingestLoadedRows, type IngestResult } from '../../ingest-rows.js';
import { dropRaw, loadRawJson } from '../../load-raw.js';
import type { KnownAt } from '../../validate-sql.js';
import { closePostgres, connectPostgres } from '../postgres/postgres-connection.js';
import { redactConnection } from '../postgres/postgres-cdc-config.js';
import { decodeMark, encodeMark, postgresTableConfig } from './postgres-table-config.js';
import { matchColumns, nullMarkSql, readTablePages, type ReadProgress } from './read-table-pages.js';

/** What an incremental ingest of a Postgres table did. */
export interface PostgresIngestResult extends Omit<IngestResult, 'snapshot'> {
  /** Rows read after the last committed mark (accepted, rejected and duplicates together). */
  readonly read: number;
  /** The snapshot committed; with no new rows, the source's latest (null: it has none). */
  readonly snapshot: string | null;
  /** Rows with a NULL cursor or key, which an incremental read cannot place (counted on the first load only). */
  readonly nullCursorRows?: number;
}

export interface PostgresIngestOptions {
  /** As for files: `event` (default) or `ingestion`, the clock at the start of this ingest. */
  readonly knownAt?: 'event' | 'ingestion';
  /** As for files: apply the committed rows to the online tables of the source's views within the run. */
  readonly online?: boolean;
  /** Called as the stages (read, validate, write, commit) complete. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Ingests the rows of a batch source's `postgresTable` after its last committed mark: read in
 * `(cursor, key)` order, page by page, in one REPEATABLE READ snapshot, then validated,
 * dead-lettered and committed as one snapshot by the same path as a file, with the last row's
 * `(cursor, key)` as the new mark in the same transaction. A crash before the commit leaves the
 * old mark: the next ingest reads the same rows again, so none is skipped or stored twice.
 * Ingests of one source take turns (a lease); the connection string is never logged.
 *
 * @example
 * const result = await ingestPostgresTable(ctx, project, 'payments');
 */
export async function ingestPostgresTable(ctx: SluiceContext, project: Project, sourceName: string, options: PostgresIngestOptions = {}): Promise<PostgresIngestResult> {
  const source = findSource(project, sourceName);
  const config = postgresTableConfig(source);
  const knownAt: KnownAt = options.knownAt === 'ingestion' ? { mode: 'ingestion', at: ctx.now() } : { mode: 'event' };
  const progress = (done: number) => options.onProgress?.(done, 4);
  const ingested = await trackRun(ctx, 'ingest', { source: source.name, from: config.origin, knownAt: knownAt.mode }, () =>
    withLease(ctx.metadata, `ingest-postgres:${source.name}`, { waitMs: 600_000, purpose: `ingest into source "${source.name}" from ${config.origin}` }, async () => {
      const stored = await ctx.metadata.ingestCursor(source.name);
      const mark = decodeMark(stored);
      const read: ReadProgress = { mark: undefined, rows: 0 };
      let nullCursorRows: number | undefined;
      const engine = await ctx.engine();
      const client = await connectPostgres(config.connection, { onError: () => undefined }).catch((error: unknown) => {
        throw new AdapterError('ADAPTER_FAILED', `source "${source.name}": cannot connect to Postgres (${redactConnection(String((error as Error).message), config.connection)}); check the connection setting`, { cause: error });
      });
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const columns = await matchColumns(client, config);
        if (mark === undefined) nullCursorRows = (await client.query<{ n: number }>(nullMarkSql(config, columns))).rows[0]!.n;
        await loadRawJson(engine, source, readTablePages(client, config, columns, mark, read));
        await client.query('COMMIT');
      } catch (error) {
        await dropRaw(engine);
        // A column the table or query no longer has is an upstream schema change.
        await reportSchemaChange(ctx, source, config.origin, schemaChangeOf(source, { error }), 'ingest');
        if (isSluiceError(error)) throw error;
        throw new AdapterError('ADAPTER_FAILED', `source "${source.name}": reading ${config.origin} failed: ${redactConnection((error as Error).message, config.connection)}`, { cause: error });
      } finally {
        await closePostgres(client);
      }
      progress(1);
      // Counts and names only: never the connection, row values or the mark (a row's cursor and key).
      currentLogger().info({ source: source.name, from: config.origin, rows: read.rows, firstLoad: mark === undefined }, 'read rows after the committed cursor');
      if (nullCursorRows) currentLogger().warn({ source: source.name, from: config.origin, rows: nullCursorRows }, 'rows with a NULL cursor or key are never read by an incremental ingest');
      const nulls = nullCursorRows === undefined ? {} : { nullCursorRows };
      if (read.mark === undefined) {
        await dropRaw(engine);
        const latest = await ctx.metadata.latestSnapshot(source.name);
        progress(4);
        const result: PostgresIngestResult = { source: source.name, read: 0, accepted: 0, rejected: 0, snapshot: latest?.id ?? null, skipped: true, ...nulls };
        return { result, stats: { read: 0, accepted: 0, rejected: 0, skipped: true, ...nulls } };
      }
      const to = encodeMark(read.mark);
      const contentHash = createHash('sha256').update(`${config.origin}\n${stored ?? ''}\n${to}`).digest('hex');
      const { result, stats } = await ingestLoadedRows(ctx, project, source, { origin: config.origin, contentHash, knownAt, force: true, cursor: { from: stored ?? null, to }, online: options.online === true, progress });
      progress(4);
      return { result: { ...result, read: read.rows, ...nulls }, stats: { ...stats, read: read.rows, ...nulls } };
    }), project);
  // Drift of this batch against the source's previous one, as for a file (docs/drift.md).
  if (!ingested.skipped && ingested.accepted > 0 && ingested.snapshot !== null) await sourceBatchDrift(ctx, project, source.name, ingested.snapshot);
  return ingested;
}
