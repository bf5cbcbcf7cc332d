import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cdcSource, compileProject, defineProject, env, postgresCdc, type Source } from '../src/definitions/index.js';
import { ConfigError } from '../src/errors.js';
import type { ConnectorSink, RunningConnector } from '../src/ingest/connectors/connector.js';
import { decodePosition, postgresCdcConnector, type PostgresCdcTuning } from '../src/ingest/connectors/postgres/index.js';
import { parseLsn } from '../src/ingest/connectors/postgres/lsn.js';
import { postgresCdcConfig } from '../src/ingest/connectors/postgres/postgres-cdc-config.js';
import { inspectTable, keyPartIndex } from '../src/ingest/connectors/postgres/table-inspection.js';
import { mulberry32, replay, replayed, sameRows, until as poll, type Row } from './support/cdc-replay.js';
import { FileConnectorSink } from './support/file-connector-sink.js';
import { startPostgres } from './support/postgres-server.js';

const server = await startPostgres();
if ('skip' in server) console.warn(`postgres-cdc.server.test.ts skipped: ${server.skip}`);
const live = 'skip' in server ? undefined : server;

const SCHEMA = { account_id: 'int64', tier: 'string', credit_limit: 'float64', updated: 'timestamp' } as const;

let dir: string;
let database: string;
let db: pg.Client;
let running: RunningConnector[] = [];
const logs = new Map<RunningConnector, string[]>();
let counter = 0;

function source(options: { table?: string; variable?: string; schema?: Record<string, 'int64' | 'string' | 'float64' | 'timestamp'> } = {}): Source {
  const variable = options.variable ?? `SLUICE_TEST_PG_${database.toUpperCase()}`;
  const spec = cdcSource({ name: 'accounts', key: 'account_id', schema: options.schema ?? SCHEMA, connector: postgresCdc({ connection: env(variable), table: options.table ?? 'public.accounts' }) });
  return compileProject(defineProject({ name: 'p', entities: [], sources: [spec], featureViews: [] })).sources[0]!;
}

async function start(sink: FileConnectorSink, tuning: PostgresCdcTuning = {}, log: string[] = []): Promise<RunningConnector> {
  const connector = await postgresCdcConnector({ firstRetryMs: 50, ...tuning })(source(), sink, {
    log: (m) => {
      // SLUICE_TEST_LOG prints the connector's log as it goes (tests that read the log still get it).
      if (process.env.SLUICE_TEST_LOG) console.log(`${new Date().toISOString()} ${m}`);
      log.push(m);
    },
  });
  running.push(connector);
  logs.set(connector, log);
  return connector;
}

function described(connector: RunningConnector): string {
  return `connector ${JSON.stringify(connector.status())}; log:\n${(logs.get(connector) ?? []).join('\n')}`;
}

/**
 * Polls `check` (see `poll`), failing at once when a connector of the test failed (waiting on
 * cannot help: it is stuck, not slow) and, on a timeout, naming every connector's state and log.
 */
async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, context?: () => string): Promise<T> {
  return poll(
    what,
    async () => {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      const failed = running.find((c) => c.status().state === 'failed');
      if (failed !== undefined) throw new Error(`waiting for ${what}, a connector failed: ${described(failed)}`);
      return value;
    },
    timeoutMs,
    context ?? (() => running.map(described).join('\n')),
  );
}

async function tableRows(): Promise<Map<string, Row>> {
  const result = await db.query<Row>('SELECT account_id::text AS account_id, tier, credit_limit::text AS credit_limit, updated::text AS updated FROM accounts');
  return new Map(result.rows.map((row) => [row.account_id!, row]));
}

async function sql(text: string): Promise<void> {
  await db.query(text);
}

/**
 * Drops every replication slot of the server, so that each test starts without one: slot names
 * are server-wide, and a slot left by an earlier test (in its own database) makes the next
 * connector stop as failed ("already exists for database ..."). A slot still held (a walsender
 * that has not exited yet, a slot creation a stop left running) is waited for, and named if it
 * stays held.
 */
async function dropReplicationSlots(client: pg.Client): Promise<void> {
  const held = async (): Promise<unknown[]> => (await client.query(`SELECT slot_name, database, active_pid FROM pg_replication_slots WHERE active`)).rows;
  await until('every replication slot released', async () => (await held()).length === 0, 30_000).catch(async (error: Error) => {
    throw new Error(`${error.message}; still held: ${JSON.stringify(await held())}`);
  });
  await client.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots`);
}

async function slotConfirmed(): Promise<string> {
  return (await db.query<{ lsn: string }>(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'sluice_accounts'`)).rows[0]!.lsn;
}

describe.skipIf(live === undefined)('Postgres CDC connector (real PostgreSQL)', () => {
  beforeEach(async () => {
    await Promise.all(running.map((c) => c.stop()));
    running = [];
    if (db !== undefined) {
      await dropReplicationSlots(db);
      await db.end();
    }
    dir = mkdtempSync(join(tmpdir(), 'sluice-pg-test-'));
    database = `cdc_${++counter}`;
    const admin = new pg.Client({ connectionString: live!.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    process.env[`SLUICE_TEST_PG_${database.toUpperCase()}`] = live!.url(database);
    db = new pg.Client({ connectionString: live!.url(database) });
    await db.connect();
    await sql(`CREATE TABLE accounts (account_id bigint PRIMARY KEY, tier text, credit_limit numeric, updated timestamptz, internal_note text)`);
  });

  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop()));
    await db?.end();
    await live?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the snapshot, then inserts, updates and deletes in commit order with their commit times', async () => {
    await sql(`INSERT INTO accounts VALUES (1, 'gold', 100.5, '2024-03-01 12:00:00.123456+00', 'secret'), (2, 'silver', 50, NULL, NULL), (3, NULL, NULL, NULL, NULL)`);
    const sink = new FileConnectorSink(join(dir, 'sink.json'));
    const connector = await start(sink);
    await until('the snapshot', () => sink.events.length === 3);
    const snapshot = sink.parsed();
    expect(snapshot.map((e) => e._op)).toEqual(['snapshot', 'snapshot', 'snapshot']);
    expect(snapshot[0]).toEqual({ account_id: '1', tier: 'gold', credit_limit: '100.5', updated: '2024-03-01 12:00:00.123456+00', _op: 'snapshot', _changed_at: snapshot[0]!._changed_at });
    expect(snapshot[0]!._changed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const before = new Date(Date.now() - 1).toISOString();
    await sql(`INSERT INTO accounts VALUES (4, 'bronze', 10, NULL, 'x')`);
    await sql(`UPDATE accounts SET tier = 'platinum' WHERE account_id = 1`);
    await sql(`DELETE FROM accounts WHERE account_id = 2`);
    await sql(`BEGIN; INSERT INTO accounts VALUES (5, 'gold', 1, NULL, NULL); UPDATE accounts SET credit_limit = 2 WHERE account_id = 5; UPDATE accounts SET account_id = 6 WHERE account_id = 3; COMMIT`);
    const after = new Date(Date.now() + 1).toISOString();
    await until('the changes', () => sink.events.length === 10);
    const changes = sink.parsed().slice(3);
    expect(changes.map((e) => [e._op, e.account_id])).toEqual([
      ['insert', '4'], ['update', '1'], ['delete', '2'], ['insert', '5'], ['update', '5'], ['delete', '3'], ['insert', '6'],
    ]);
    expect(changes[2]).toEqual({ account_id: '2', tier: null, credit_limit: null, updated: null, _op: 'delete', _changed_at: changes[2]!._changed_at });
    for (const change of changes) {
      expect(change._changed_at! >= before && change._changed_at! <= after).toBe(true);
      expect(change._changed_at! >= snapshot[0]!._changed_at!).toBe(true);
    }
    expect(new Set(changes.slice(3).map((e) => e._changed_at)).size).toBe(1);
    expect(replay(sink.parsed())).toEqual(await tableRows());
    const status = connector.status();
    expect(status).toMatchObject({ source: 'accounts', kind: 'postgresCdc', state: 'running', received: 10 });
    expect(decodePosition(status.position!).phase).toBe('stream');
    const lag = await until('the lag', () => connector.status().lag);
    expect(lag).toBeGreaterThanOrEqual(0);
  });

  it('resumes after a stop and after a crash between append and acknowledgement: no gap, no double', async () => {
    await sql(`INSERT INTO accounts SELECT i, 'tier' || i, i, NULL, NULL FROM generate_series(1, 20) i`);
    const file = join(dir, 'sink.json');
    const first = new FileConnectorSink(file);
    const one = await start(first, { maxBatch: 3 });
    await until('the snapshot', () => first.events.length === 20);
    await sql(`UPDATE accounts SET tier = 'a' WHERE account_id = 1`);
    await until('the first changes', () => first.events.length === 21);
    await one.stop();
    expect(one.status().state).toBe('stopped');

    await sql(`DELETE FROM accounts WHERE account_id = 2`);
    await sql(`INSERT INTO accounts VALUES (100, 'while stopped', 1, NULL, NULL)`);
    const second = new FileConnectorSink(file);
    await start(second, { maxBatch: 3, firstRetryMs: 60_000 });
    await until('the changes made while stopped', () => second.events.length === 23);

    // A crash after the events of a large transaction are durable, before Postgres hears of it.
    let crashes = 0;
    second.afterAppend = (_events, position) => {
      if (position !== undefined && decodePosition(position).phase === 'stream' && crashes++ === 1) throw new Error('simulated crash after append');
    };
    await sql(`BEGIN; INSERT INTO accounts SELECT i, 'batch', i, NULL, NULL FROM generate_series(200, 206) i; UPDATE accounts SET tier = 'b' WHERE account_id = 3; COMMIT`);
    await until('the crash', () => crashes >= 2);
    await Promise.all(running.map((c) => c.stop()));
    const stored = decodePosition((await second.position())!);
    expect(stored).toMatchObject({ phase: 'stream', txn: { done: 6 } });
    const crashed = parseLsn(stored.phase === 'stream' ? stored.txn!.commit : '0/0');
    // Postgres was not told: it sends the transaction again, and the connector must skip what is appended.
    expect(parseLsn(await slotConfirmed())).toBeLessThanOrEqual(crashed);

    await sql(`INSERT INTO accounts VALUES (300, 'after crash', 1, NULL, NULL)`);
    const third = new FileConnectorSink(file);
    await start(third, { maxBatch: 3 });
    await until('all changes', () => third.events.length === 23 + 8 + 1);
    expect(replay(third.parsed())).toEqual(await tableRows());
    await until('the acknowledgement', async () => parseLsn(await slotConfirmed()) > crashed);
  });

  it('neither loses nor doubles rows changed while the snapshot is read', async () => {
    await sql(`INSERT INTO accounts SELECT i * 10, 'v0', i, NULL, NULL FROM generate_series(1, 50) i`);
    const sink = new FileConnectorSink(join(dir, 'sink.json'));
    let changed = false;
    sink.afterAppend = async (_events, position) => {
      if (changed || position === undefined || decodePosition(position).phase !== 'snapshot') return;
      changed = true;
      await sql(`INSERT INTO accounts VALUES (5, 'new low', 1, NULL, NULL), (15, 'new mid', 1, NULL, NULL), (1000, 'new high', 1, NULL, NULL)`);
      await sql(`UPDATE accounts SET tier = 'v1' WHERE account_id IN (10, 500)`);
      await sql(`DELETE FROM accounts WHERE account_id IN (20, 490)`);
    };
    await start(sink, { snapshotBatchSize: 5 });
    await until('the snapshot and the changes', () => sink.events.length === 50 + 3 + 2 + 2);
    const events = sink.parsed();
    expect(events.filter((e) => e._op === 'snapshot').map((e) => e.account_id)).toEqual(Array.from({ length: 50 }, (_, i) => String((i + 1) * 10)));
    expect(events.filter((e) => e._op !== 'snapshot').map((e) => `${e._op} ${e.account_id}`)).toEqual([
      'insert 5', 'insert 15', 'insert 1000', 'update 10', 'update 500', 'delete 20', 'delete 490',
    ]);
    expect(replay(events)).toEqual(await tableRows());
  });

  it('resumes a snapshot interrupted by a crash in a new snapshot, filtering the changes it already holds', async () => {
    await sql(`INSERT INTO accounts SELECT i * 10, 'v0', i, NULL, NULL FROM generate_series(1, 50) i`);
    const file = join(dir, 'sink.json');
    const first = new FileConnectorSink(file);
    first.afterAppend = () => {
      if (first.events.length === 15) throw new Error('simulated crash in the snapshot');
    };
    await start(first, { snapshotBatchSize: 5, firstRetryMs: 60_000 });
    await until('the crash', () => first.events.length === 15);
    await Promise.all(running.map((c) => c.stop()));
    expect(decodePosition((await first.position())!)).toMatchObject({ phase: 'snapshot', rows: 15, parts: [{ to: '150' }] });

    // Changes on both sides of the last key read (150), made before the snapshot resumes.
    await sql(`INSERT INTO accounts VALUES (5, 'low', 1, NULL, NULL), (1000, 'high', 1, NULL, NULL)`);
    await sql(`UPDATE accounts SET tier = 'v1' WHERE account_id IN (10, 400)`);
    await sql(`DELETE FROM accounts WHERE account_id IN (20, 490)`);
    const second = new FileConnectorSink(file);
    let changedDuring = false;
    second.afterAppend = async () => {
      if (changedDuring) return;
      changedDuring = true;
      await sql(`UPDATE accounts SET tier = 'v2' WHERE account_id IN (30, 300)`);
    };
    await start(second, { snapshotBatchSize: 5 });
    await until('the rest of the snapshot and the changes', async () => replayed(second) && second.events.length >= 15 + 35 && sameRows(second, await tableRows()));
    const events = second.parsed();
    const ops = (key: string): string[] => events.filter((e) => e.account_id === key).map((e) => e._op!);
    expect(ops('10')).toEqual(['snapshot', 'update']);
    expect(ops('400')).toEqual(['snapshot']);
    expect(ops('490')).toEqual([]);
    expect(ops('20')).toEqual(['snapshot', 'delete']);
    expect(ops('1000')).toEqual(['snapshot']);
    expect(ops('5')).toEqual(['insert']);
    expect(ops('300')).toEqual(['snapshot', 'update']);
    expect(events.filter((e) => e.account_id === '400')[0]!.tier).toBe('v1');
    expect(replay(events)).toEqual(await tableRows());
    expect(decodePosition((await second.position())!).phase).toBe('stream');
  });

  it('loses and doubles nothing through random crashes during the snapshot and the stream, with writes going on', async () => {
    const seed = Number(process.env.SLUICE_TEST_SEED ?? Date.now() % 100_000);
    const random = mulberry32(seed);
    const pick = (n: number): number => Math.floor(random() * n);
    await sql(`INSERT INTO accounts SELECT i, 'v0', i, NULL, NULL FROM generate_series(1, 60) i`);
    let writing = true;
    let nextKey = 1000;
    const writer = (async () => {
      const client = new pg.Client({ connectionString: live!.url(database) });
      await client.connect();
      while (writing) {
        const statements = Array.from({ length: 1 + pick(4) }, () => {
          const key = 1 + pick(80);
          switch (pick(4)) {
            case 0: return `INSERT INTO accounts VALUES (${key}, 'i${pick(9)}', ${pick(100)}, now(), NULL) ON CONFLICT DO NOTHING`;
            case 1: return `UPDATE accounts SET tier = 'u${pick(9)}', updated = now() WHERE account_id = ${key}`;
            case 2: return `DELETE FROM accounts WHERE account_id = ${key}`;
            default: return `UPDATE accounts SET account_id = ${nextKey++} WHERE account_id = ${key}`;
          }
        });
        await client.query(`BEGIN; ${statements.join('; ')}; COMMIT`);
        await new Promise((resolve) => setTimeout(resolve, pick(5)));
      }
      await client.end();
    })();
    const file = join(dir, 'sink.json');
    try {
      for (let round = 0; round < 8; round++) {
        const sink = new FileConnectorSink(file);
        const crashAt = 1 + pick(6);
        let appends = 0;
        let crashed = false;
        sink.afterAppend = () => {
          if (++appends === crashAt) {
            crashed = true;
            // The process is gone: the connector's retries (quick here, so that a transient
            // failure before the crash is retried within the wait) land nothing more.
            sink.die();
            throw new Error('simulated crash');
          }
        };
        const log: string[] = [];
        const connector = await start(sink, { snapshotBatchSize: 4, maxBatch: 5 }, log);
        await until(`crash ${round} (seed ${seed})`, () => crashed || connector.status().state === 'failed', 60_000, () => `connector ${JSON.stringify(connector.status())}; log:\n${log.join('\n')}`);
        expect(crashed, `round ${round} (seed ${seed}): ${connector.status().lastError}\n${log.join('\n')}`).toBe(true);
        await Promise.all(running.map((c) => c.stop()));
        replay(sink.parsed());
      }
      const last = new FileConnectorSink(file);
      const log: string[] = [];
      const connector = await start(last, { maxBatch: 5 }, log);
      writing = false;
      await writer;
      const expected = await tableRows();
      await until(`all changes (seed ${seed})`, () => sameRows(last, expected), 60_000, () => `connector ${JSON.stringify(connector.status())}; log:\n${log.join('\n')}`);
      expect(replay(last.parsed()), `seed ${seed}`).toEqual(expected);
    } finally {
      // A failure above must not leave the writer running into the server's shutdown.
      writing = false;
      await writer.catch(() => undefined);
    }
  });

  it('reconnects when the server drops the replication connection, and goes on where it was', async () => {
    await sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(dir, 'sink.json'));
    const log: string[] = [];
    const connector = await start(sink, {}, log);
    // The slot is also active while the snapshot is exported: wait for the streaming walsender,
    // or the termination can hit the snapshot's connection as it closes and go unnoticed.
    const streaming = `SELECT s.active_pid FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = 'sluice_accounts' AND r.state = 'streaming'`;
    await until('the stream', async () => sink.events.length === 1 && (await db.query(streaming)).rowCount === 1);
    await sql(`SELECT pg_terminate_backend(active_pid) FROM (${streaming}) streaming`);
    await sql(`INSERT INTO accounts VALUES (2, 'b', 1, NULL, NULL)`);
    await sql(`UPDATE accounts SET tier = 'c' WHERE account_id = 1`);
    await until('the changes', () => sink.events.length === 3);
    expect(replay(sink.parsed())).toEqual(await tableRows());
    await until('running again', () => connector.status().state === 'running');
    expect(connector.status().lastError).toMatch(/terminat/i);
    expect(log.some((m) => m.startsWith('postgres cdc: ') && /retrying in \d+ ms/.test(m))).toBe(true);
    expect(log.join('\n')).not.toMatch(/postgres:\/\/|password/);
  });

  it('lets go of its slot before stop() resolves: a successor started at once finds it free', async () => {
    await sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(dir, 'sink.json'));
    const connector = await start(sink);
    const streaming = `SELECT s.active_pid AS pid FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = 'sluice_accounts' AND r.state = 'streaming'`;
    const pid = await until('the stream', async () => sink.events.length === 1 && (await db.query<{ pid: number }>(streaming)).rows[0]?.pid);
    // The walsender is held still, so that a stop() that does not wait for it resolves first.
    process.kill(pid, 'SIGSTOP');
    let activeWhenStopped: boolean | undefined;
    let held = true;
    try {
      const stopping = connector.stop().then(async () => {
        activeWhenStopped = (await db.query<{ active: boolean }>(`SELECT active FROM pg_replication_slots WHERE slot_name = 'sluice_accounts'`)).rows[0]!.active;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      process.kill(pid, 'SIGCONT');
      held = false;
      await stopping;
    } finally {
      if (held) process.kill(pid, 'SIGCONT');
    }
    expect(activeWhenStopped).toBe(false);
    expect(connector.status().state).toBe('stopped');
    const next = new FileConnectorSink(join(dir, 'sink.json'));
    const log: string[] = [];
    const successor = await start(next, {}, log);
    await sql(`UPDATE accounts SET tier = 'b' WHERE account_id = 1`);
    await until('the update', () => next.events.length === 2);
    expect(replay(next.parsed())).toEqual(await tableRows());
    expect(successor.status().lastError).toBeUndefined();
  });

  it('says when Postgres cannot tell: an unchanged large value (without REPLICA IDENTITY FULL), a truncate', async () => {
    const large = `(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i)`;
    await sql(`INSERT INTO accounts VALUES (1, ${large}, 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(dir, 'sink.json'));
    const log: string[] = [];
    await start(sink, {}, log);
    await until('the snapshot', () => sink.events.length === 1);
    expect(sink.parsed()[0]!.tier).toHaveLength(9600);
    await sql(`UPDATE accounts SET credit_limit = 2 WHERE account_id = 1`);
    await sql(`ALTER TABLE accounts REPLICA IDENTITY FULL`);
    await sql(`UPDATE accounts SET credit_limit = 3 WHERE account_id = 1`);
    await until('the updates', () => sink.events.length === 3);
    const [, without, full] = sink.parsed();
    expect([without!.tier, without!.credit_limit]).toEqual([null, '2']);
    expect([full!.tier!.length, full!.credit_limit]).toEqual([9600, '3']);
    expect(log.filter((m) => /did not carry the unchanged large value\(s\) of tier .*REPLICA IDENTITY FULL/.test(m))).toHaveLength(1);
    await sql(`TRUNCATE accounts`);
    await until('the truncate warning', () => log.some((m) => /was truncated/.test(m)));
  });

  it('stops as failed, saying why, when its slot was dropped: it does not continue with a gap', async () => {
    await sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const file = join(dir, 'sink.json');
    const first = new FileConnectorSink(file);
    await start(first);
    await until('the snapshot', () => first.events.length === 1);
    await Promise.all(running.map((c) => c.stop()));
    await sql(`SELECT pg_drop_replication_slot('sluice_accounts')`);
    const log: string[] = [];
    const second = new FileConnectorSink(file);
    const connector = await start(second, {}, log);
    await until('the failure', () => connector.status().state === 'failed');
    expect(connector.status().lastError).toMatch(/replication slot "sluice_accounts" is gone.*clear source "accounts"'s history/);
    expect(second.events).toHaveLength(1);
  });

  it('waits while the sink is overloaded instead of failing, and delivers everything once', async () => {
    await sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(dir, 'sink.json'));
    let refusals = 3;
    const overloaded: ConnectorSink = {
      position: () => sink.position(),
      append: (events, position) => {
        if (refusals-- > 0) throw Object.assign(new Error('source "accounts" has events waiting; retry after a second'), { code: 'OVERLOADED' });
        return sink.append(events, position);
      },
    };
    const connector = await postgresCdcConnector()(source(), overloaded, {});
    running.push(connector);
    await until('the snapshot', () => sink.events.length === 1);
    refusals = 2;
    await sql(`UPDATE accounts SET tier = 'b' WHERE account_id = 1`);
    await until('the update', () => sink.events.length === 2);
    expect(replay(sink.parsed())).toEqual(await tableRows());
    expect(connector.status()).toMatchObject({ state: 'running', received: 2 });
    expect(connector.status().lastError).toBeUndefined();
  });

  it('compares keys as the table orders them: numbers as numbers, text in the column collation', async () => {
    await sql(`CREATE TABLE named (name text COLLATE "C" PRIMARY KEY, tier text)`);
    const shape = async (table: string, schema: Record<string, 'int64' | 'string'>, key: string) => {
      const spec = cdcSource({ name: `keys_${key}`, key, schema, connector: postgresCdc({ connection: live!.url(database), table }) });
      const compiled = compileProject(defineProject({ name: 'p', entities: [], sources: [spec], featureViews: [] })).sources[0]!;
      return inspectTable(db, postgresCdcConfig(compiled));
    };
    const numbers = await shape('public.accounts', { account_id: 'int64' }, 'account_id');
    expect(await keyPartIndex(db, numbers, ['150'], '1000')).toBe(1);
    expect(await keyPartIndex(db, numbers, ['150', '2000'], '1000')).toBe(1);
    expect(await keyPartIndex(db, numbers, ['150'], '150')).toBe(0);
    const names = await shape('public.named', { name: 'string' }, 'name');
    expect(names.keyCollate).toBe('COLLATE pg_catalog."C"');
    expect(await keyPartIndex(db, names, ['b'], 'B')).toBe(0);
    expect(await keyPartIndex(db, names, ['b'], 'ba')).toBe(1);
  });

  it('names a missing environment variable, a wrong table and a missing column', async () => {
    const sink = new FileConnectorSink(join(dir, 'sink.json'));
    const start = postgresCdcConnector();
    const missingVariable = start(source({ variable: 'SLUICE_TEST_NOT_SET' }), sink, {});
    await expect(missingVariable).rejects.toBeInstanceOf(ConfigError);
    await expect(missingVariable).rejects.toThrow(/SLUICE_TEST_NOT_SET/);
    await expect(start(source({ table: 'public.acounts' }), sink, {})).rejects.toThrow(/table "public.acounts" does not exist in database "cdc_\d+" \(did you mean "public.accounts"\?\)/);
    await expect(start(source({ schema: { ...SCHEMA, segment: 'string' } }), sink, {})).rejects.toThrow(/has no column "segment"/);
    await sql(`CREATE TABLE no_key (account_id bigint, tier text)`);
    await expect(start(source({ table: 'public.no_key', schema: { account_id: 'int64', tier: 'string' } }), sink, {})).rejects.toThrow(/not unique on its own/);
  });
});

