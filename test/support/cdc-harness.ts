import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe } from 'vitest';
import { cdcSource, compileProject, defineProject, env, postgresCdc, type Source } from '../../src/definitions/index.js';
import type { ConnectorIncident, RunningConnector } from '../../src/ingest/connectors/connector.js';
import { postgresCdcConnector, type PostgresCdcTuning } from '../../src/ingest/connectors/postgres/index.js';
import { until as poll, type Row } from './cdc-replay.js';
import type { FileConnectorSink } from './file-connector-sink.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';

export const CDC_SCHEMA = { account_id: 'int64', tier: 'string', credit_limit: 'float64', updated: 'timestamp' } as const;

type Column = 'int64' | 'string' | 'float64' | 'timestamp';

/**
 * The Postgres CDC suites' shared set-up: per test a database of its own (`cdc_N`) with an
 * `accounts` table, a scratch directory, the connectors the test started (stopped before the next
 * test) and every replication slot of the server dropped in between (slot names are server-wide).
 */
export class CdcHarness {
  dir = '';
  database = '';
  db!: pg.Client;
  running: RunningConnector[] = [];
  private readonly logs = new Map<RunningConnector, string[]>();
  private counter = 0;

  constructor(readonly live: PostgresServer) {}

  /** The `accounts` CDC source, compiled; its connection is an `env()` variable set per database. */
  source(options: { table?: string; variable?: string; schema?: Record<string, Column> } = {}): Source {
    const variable = options.variable ?? `SLUICE_TEST_PG_${this.database.toUpperCase()}`;
    const spec = cdcSource({ name: 'accounts', key: 'account_id', schema: options.schema ?? CDC_SCHEMA, connector: postgresCdc({ connection: env(variable), table: options.table ?? 'public.accounts' }) });
    return compileProject(defineProject({ name: 'p', entities: [], sources: [spec], featureViews: [] })).sources[0]!;
  }

  async start(sink: FileConnectorSink, tuning: PostgresCdcTuning = {}, log: string[] = [], incidents: ConnectorIncident[] = []): Promise<RunningConnector> {
    const connector = await postgresCdcConnector({ firstRetryMs: 50, ...tuning })(this.source(), sink, {
      report: (incident) => incidents.push(incident),
      log: (level, m) => {
        // SLUICE_TEST_LOG prints the connector's log as it goes (tests that read the log still get it).
        if (process.env.SLUICE_TEST_LOG) console.log(`${new Date().toISOString()} ${level} ${m}`);
        log.push(`${level} ${m}`);
      },
    });
    this.track(connector, log);
    return connector;
  }

  /** Counts a connector started without `start` as the test's (stopped before the next test). */
  track(connector: RunningConnector, log: string[] = []): void {
    this.running.push(connector);
    this.logs.set(connector, log);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.map((c) => c.stop()));
  }

  described(connector: RunningConnector): string {
    return `connector ${JSON.stringify(connector.status())}; log:\n${(this.logs.get(connector) ?? []).join('\n')}`;
  }

  /**
   * Polls `check` (see `poll`), failing at once when a connector of the test failed (waiting on
   * cannot help: it is stuck, not slow) and, on a timeout, naming every connector's state and log.
   */
  async until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, context?: () => string): Promise<T> {
    return poll(
      what,
      async () => {
        const value = await check();
        if (value !== undefined && value !== false) return value;
        const failed = this.running.find((c) => c.status().state === 'failed');
        if (failed !== undefined) throw new Error(`waiting for ${what}, a connector failed: ${this.described(failed)}`);
        return value;
      },
      timeoutMs,
      context ?? (() => this.running.map((c) => this.described(c)).join('\n')),
    );
  }

  async tableRows(): Promise<Map<string, Row>> {
    const result = await this.db.query<Row>('SELECT account_id::text AS account_id, tier, credit_limit::text AS credit_limit, updated::text AS updated FROM accounts');
    return new Map(result.rows.map((row) => [row.account_id!, row]));
  }

  async sql(text: string): Promise<void> {
    await this.db.query(text);
  }

  async slotConfirmed(): Promise<string> {
    return (await this.db.query<{ lsn: string }>(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'sluice_accounts'`)).rows[0]!.lsn;
  }

  /** Before each test: the last test's connectors stopped, its slots dropped, a new database with `accounts`. */
  async beforeEach(): Promise<void> {
    await this.stopAll();
    this.running = [];
    if (this.db !== undefined) {
      await this.dropReplicationSlots();
      await this.db.end();
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = mkdtempSync(join(tmpdir(), 'sluice-pg-test-'));
    this.database = `cdc_${++this.counter}`;
    const admin = new pg.Client({ connectionString: this.live.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${this.database}`);
    await admin.end();
    process.env[`SLUICE_TEST_PG_${this.database.toUpperCase()}`] = this.live.url(this.database);
    this.db = new pg.Client({ connectionString: this.live.url(this.database) });
    await this.db.connect();
    await this.sql(`CREATE TABLE accounts (account_id bigint PRIMARY KEY, tier text, credit_limit numeric, updated timestamptz, internal_note text)`);
  }

  async afterAll(): Promise<void> {
    await this.stopAll();
    await this.db?.end();
    await this.live.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Drops every replication slot of the server, so that each test starts without one: slot names
   * are server-wide, and a slot left by an earlier test (in its own database) makes the next
   * connector stop as failed ("already exists for database ..."). A slot still held (a walsender
   * that has not exited yet, a slot creation a stop left running) is waited for, and named if it
   * stays held.
   */
  private async dropReplicationSlots(): Promise<void> {
    const held = async (): Promise<unknown[]> => (await this.db.query(`SELECT slot_name, database, active_pid FROM pg_replication_slots WHERE active`)).rows;
    await this.until('every replication slot released', async () => (await held()).length === 0, 30_000).catch(async (error: Error) => {
      throw new Error(`${error.message}; still held: ${JSON.stringify(await held())}`);
    });
    await this.db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots`);
  }
}

/**
 * A CDC suite: starts a throwaway Postgres for the file (or says why the suite is skipped) and runs
 * `body` in a `describe` whose tests each start with a fresh database (`CdcHarness.beforeEach`).
 */
export async function cdcSuite(file: string, title: string, body: (h: CdcHarness) => void): Promise<void> {
  const server = await startPostgres();
  if ('skip' in server) console.warn(`${file} skipped: ${server.skip}`);
  const live = 'skip' in server ? undefined : server;
  describe.skipIf(live === undefined)(title, () => {
    const h = new CdcHarness(live!);
    beforeEach(() => h.beforeEach());
    afterAll(() => h.afterAll());
    body(h);
  });
}
