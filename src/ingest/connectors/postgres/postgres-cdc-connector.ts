import type pg from 'pg';
import type { Source } from '../../../definitions/index.js';
import { AdapterError, ConfigError, isSluiceError } from '../../../errors.js';
import type { ConnectorIncident, ConnectorLog, ConnectorSink, ConnectorStatus, RunningConnector, StartConnector } from '../connector.js';
import { retryDelayMs } from '../retry-delay.js';
import { decodePosition, encodePosition, type CdcPosition } from './cdc-position.js';
import { createSlotWithSnapshot, readSnapshot } from './initial-snapshot.js';
import { parseLsn } from './lsn.js';
import { postgresCdcConfig, redactConnection, type PostgresCdcConfig } from './postgres-cdc-config.js';
import { closePostgres, connectPostgres } from './postgres-connection.js';
import { ReplicationStream } from './replication-stream.js';
import { streamChanges } from './stream-changes.js';
import { inspectTable, type TableShape } from './table-inspection.js';

/** Knobs of the Postgres CDC connector (the defaults suit production; tests make batches small). */
export interface PostgresCdcTuning {
  /** Rows per snapshot batch (one append each). Default 1,000. */
  readonly snapshotBatchSize?: number;
  /** Most events per append while streaming. Default 1,000. */
  readonly maxBatch?: number;
  /** First retry delay after an error, doubled up to `maxRetryMs`, with jitter. Defaults 500 ms and 30 s. */
  readonly firstRetryMs?: number;
  readonly maxRetryMs?: number;
}

/** An error that retrying cannot fix (the slot is gone or belongs elsewhere): the connector stops in state `failed`. */
class UnrecoverableError extends AdapterError {}

/**
 * A Postgres CDC connector with `tuning`; {@link startPostgresCdc} is the one with defaults.
 *
 * @example
 * const start = postgresCdcConnector({ snapshotBatchSize: 10_000 });
 */
export function postgresCdcConnector(tuning: PostgresCdcTuning = {}): StartConnector {
  return (source, sink, options) => startWith(tuning, source, sink, options.log, options.report);
}

/**
 * Follows a CDC source's Postgres table (see `postgresCdc`): checks the table, then in the
 * background reads the initial snapshot and streams every change, appending each batch with
 * its position and acknowledging Postgres only after the append resolved. Errors are logged and
 * retried with backoff; `stop()` ends it cleanly. Rejects at once on a setting or table that
 * cannot work (a missing environment variable, a missing table or column).
 *
 * @example
 * const running = await startPostgresCdc(project.sources[0], sink, { log: console.log });
 * running.status(); // { state: 'running', position: 'lsn:0/16B3748', ... }
 * await running.stop();
 */
export const startPostgresCdc: StartConnector = postgresCdcConnector();

async function startWith(tuning: PostgresCdcTuning, source: Source, sink: ConnectorSink, log: ConnectorLog | undefined, report: ((incident: ConnectorIncident) => void) | undefined): Promise<RunningConnector> {
  const config = postgresCdcConfig(source);
  const redact = (text: string): string => redactConnection(text, config.connection);
  // The caller's log names the source; the connector says what it is.
  const say: ConnectorLog = (level, message) => log?.(level, `postgres cdc: ${redact(message)}`);
  try {
    await withClient(config, (client) => inspectTable(client, config));
  } catch (error) {
    if (isSluiceError(error)) throw error;
    say('warn', `cannot check table ${config.schemaName}.${config.tableName} yet (${(error as Error).message}); retrying in the background`);
  }
  const connector = new PostgresCdc(config, sink, tuning, say, redact, (incident) => report?.(incident));
  connector.run();
  return connector;
}

async function withClient<T>(config: PostgresCdcConfig, use: (client: pg.Client) => Promise<T>): Promise<T> {
  let failure: Error | undefined;
  const client = await connectPostgres(config.connection, { onError: (error) => (failure = error) });
  try {
    return await use(client);
  } catch (error) {
    throw failure ?? error;
  } finally {
    await closePostgres(client);
  }
}

class PostgresCdc implements RunningConnector {
  private state: ConnectorStatus['state'] = 'starting';
  private position: string | undefined;
  private received = 0;
  private lastError: string | undefined;
  /** The last failure a person must fix that was said (said once while it lasts). */
  private lastFailure: string | undefined;
  private lag: number | undefined;
  private confirmedLsn: bigint | undefined;
  private stopping = false;
  private running: Promise<void> = Promise.resolve();
  private stream: ReplicationStream | undefined;
  private wakeSleep: (() => void) | undefined;
  private closeOnStop: pg.Client | undefined;
  /** Failures since the last progress: what the next retry's backoff is computed from. */
  private failures = 0;
  /** Whether the last append failed: a reconnect is then no recovery, only an append is (see `appended`). */
  private appendFailing = false;
  /** The sink, noting a failed append. */
  private readonly appending: ConnectorSink = {
    position: () => this.sink.position(),
    append: (events, position, upstream) => this.sink.append(events, position, upstream).catch((error: unknown) => {
      this.appendFailing = true;
      throw error;
    }),
  };

  constructor(
    private readonly config: PostgresCdcConfig,
    private readonly sink: ConnectorSink,
    private readonly tuning: PostgresCdcTuning,
    private readonly say: ConnectorLog,
    private readonly redact: (text: string) => string,
    private readonly report: (incident: ConnectorIncident) => void,
  ) {}

  status(): ConnectorStatus {
    return {
      source: this.config.source,
      kind: 'postgresCdc',
      state: this.state,
      ...(this.position !== undefined && { position: this.position }),
      ...(this.lag !== undefined && { lag: this.lag }),
      received: this.received,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    await this.stream?.close();
    await closePostgres(this.closeOnStop);
    await this.running;
    this.state = 'stopped';
  }

  run(): void {
    this.running = this.loop().catch((error: unknown) => {
      this.state = 'failed';
      this.lastError = this.redact(String((error as Error)?.message ?? error));
      this.say('error', `stopped: ${this.lastError}`);
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.session();
        if (this.stopping) return;
        throw new Error('the replication stream ended');
      } catch (error) {
        if (this.stopping) return;
        const message = this.redact((error as Error)?.message ?? String(error));
        this.lastError = message;
        if (error instanceof UnrecoverableError) {
          this.state = 'failed';
          this.say('error', `stopped: ${message}`);
          return;
        }
        const delay = retryDelayMs(this.failures, Math.random, this.tuning.firstRetryMs ?? 500, this.tuning.maxRetryMs ?? 30_000);
        this.failures += 1;
        if (error instanceof ConfigError) {
          // The table or server as it is cannot be followed (see `inspectTable`), as a refused start: a person must fix it. Tried again meanwhile, said once.
          if (this.state !== 'failed' || this.lastFailure !== message) this.say('error', `${message} (tried again every ${Math.round((this.tuning.maxRetryMs ?? 30_000) / 1000)} s at most until it is fixed)`);
          this.state = 'failed';
          this.lastFailure = message;
        } else {
          this.state = 'retrying';
          this.say('warn', `${message}; retrying in ${Math.round(delay)} ms`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wakeSleep = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  /** One connected run: check the table, read or resume the snapshot, then stream until stopped or an error. */
  private async session(): Promise<void> {
    let failure: Error | undefined;
    const client = await connectPostgres(this.config.connection, { onError: (error) => (failure = error) });
    const lagTimer = setInterval(() => void this.measureLag(client), 2_000);
    try {
      const shape = await inspectTable(client, this.config);
      const stored = await this.sink.position();
      let position = stored === undefined ? undefined : readPosition(stored);
      this.position = stored;
      position = await this.snapshotIfNeeded(client, shape, position);
      if (position === undefined || this.stopping) return;
      if (position.phase !== 'stream') throw new Error('the snapshot ended without a streaming position');
      this.stream = await ReplicationStream.open(this.config.connection, this.config.slot, this.config.publication, position.lsn);
      if (this.stopping) return;
      this.connected();
      void this.measureLag(client);
      await streamChanges({
        stream: this.stream,
        client,
        config: this.config,
        shape,
        sink: this.appending,
        position,
        maxBatch: this.tuning.maxBatch ?? 1_000,
        stopped: () => this.stopping,
        appended: (at, events) => this.appended(at, events),
        confirmed: (lsn) => (this.confirmedLsn = lsn),
        warn: (message) => this.say('warn', message),
        dropped: (columns, message) => {
          this.say('warn', message);
          this.report({ kind: 'columns_dropped', columns, message });
        },
      });
      if (failure !== undefined) throw failure;
    } catch (error) {
      throw failure ?? error;
    } finally {
      clearInterval(lagTimer);
      await this.stream?.close();
      this.stream = undefined;
      await closePostgres(client);
    }
  }

  /** The position streaming starts from: after reading (or finishing) the initial snapshot when needed. */
  private async snapshotIfNeeded(client: pg.Client, shape: TableShape, position: CdcPosition | undefined): Promise<CdcPosition | undefined> {
    const slot = await client.query<{ active: boolean; plugin: string; elsewhere: boolean; database: string; confirmed: string | null }>(
      `SELECT active, plugin, database IS DISTINCT FROM current_database() AS elsewhere, database, confirmed_flush_lsn::text AS confirmed
       FROM pg_replication_slots WHERE slot_name = $1`,
      [this.config.slot],
    );
    const existing = slot.rows[0];
    if (existing?.elsewhere || (existing !== undefined && existing.plugin !== 'pgoutput')) {
      throw new UnrecoverableError('CONFIG_INVALID', `replication slot "${this.config.slot}" already exists for ${existing.elsewhere ? `database "${existing.database}"` : `plugin ${existing.plugin}`} (slot names are shared by the whole server); give source "${this.config.source}" its own with postgresCdc({ slot: ... })`);
    }
    if (existing?.active) throw new Error(`replication slot "${this.config.slot}" is in use by another connection (is another worker following source "${this.config.source}"?)`);
    if (position !== undefined && existing === undefined) {
      throw new UnrecoverableError('ADAPTER_FAILED', `replication slot "${this.config.slot}" is gone, so the changes after position ${this.position} cannot be read: the history would have a gap. To follow the table again, clear source "${this.config.source}"'s history and restart (a new slot and snapshot are made)`);
    }
    if (position?.phase === 'stream') return position;
    if (position?.phase === 'snapshot' && existing?.confirmed != null && parseLsn(existing.confirmed) !== parseLsn(position.slotLsn)) {
      // The slot was never streamed while the snapshot is read: another confirmed LSN means another slot.
      throw new UnrecoverableError('ADAPTER_FAILED', `replication slot "${this.config.slot}" is not the one the snapshot was started with (it is at ${existing.confirmed}, the snapshot at ${position.slotLsn}): the history would have a gap. To follow the table again, clear source "${this.config.source}"'s history and restart`);
    }
    if (position === undefined && existing !== undefined) {
      // Nothing was appended from this slot: start over with a new slot and snapshot.
      this.say('info', `dropping replication slot "${this.config.slot}": nothing was appended from it`);
      await client.query('SELECT pg_drop_replication_slot($1)', [this.config.slot]);
    }
    const replication = await connectPostgres(this.config.connection, { replication: true, onError: () => undefined });
    // Creating a slot waits for running transactions to end: a stop must not wait for them.
    this.closeOnStop = replication;
    try {
      const resumed = position?.phase === 'snapshot';
      const slotName = resumed ? `${this.config.slot.slice(0, 50)}_resume` : this.config.slot;
      const snapshot = await createSlotWithSnapshot(replication, slotName, resumed);
      this.say('info', resumed ? `resuming the snapshot after key ${position.parts.at(-1)?.to} in a new snapshot at ${snapshot.lsn}` : `created slot "${this.config.slot}" at ${snapshot.lsn}; reading the snapshot`);
      this.connected();
      return await readSnapshot({
        client,
        config: this.config,
        shape,
        sink: this.appending,
        snapshot,
        slotLsn: resumed ? position.slotLsn : snapshot.lsn,
        rowsBefore: resumed ? position.rows : 0,
        partsBefore: resumed ? position.parts : [],
        batchSize: this.tuning.snapshotBatchSize ?? 1_000,
        stopped: () => this.stopping,
        appended: (at, events) => this.appended(at, events),
      });
    } finally {
      this.closeOnStop = undefined;
      await closePostgres(replication);
    }
  }

  /**
   * Connected again: running, unless the last append failed. An append that fails after every
   * reconnect keeps the connector `retrying` (its health condition fires) with a growing backoff
   * until an append succeeds.
   */
  private connected(): void {
    if (this.appendFailing) return;
    this.state = 'running';
    this.failures = 0;
  }

  private appended(position: CdcPosition, events: number): void {
    this.appendFailing = false;
    this.failures = 0;
    this.state = 'running';
    this.received += events;
    this.position = encodePosition(position);
    if (position.phase === 'stream') this.confirmedLsn = parseLsn(position.lsn);
  }

  private async measureLag(client: pg.Client): Promise<void> {
    if (this.confirmedLsn === undefined) return;
    try {
      const result = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const behind = parseLsn(result.rows[0]!.lsn) - this.confirmedLsn;
      this.lag = Number(behind > 0n ? behind : 0n);
    } catch {
      // The session's own error handling reports a broken connection.
    }
  }
}

function readPosition(stored: string): CdcPosition {
  try {
    return decodePosition(stored);
  } catch (error) {
    throw new UnrecoverableError('CONFIG_INVALID', `${(error as Error).message}; was the source's connector changed? Clear its history to follow the table again`);
  }
}
