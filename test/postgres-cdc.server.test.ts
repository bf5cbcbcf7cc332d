import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cdcSource, compileProject, defineProject, postgresCdc } from '../src/definitions/index.js';
import { ConfigError } from '../src/errors.js';
import type { ConnectorIncident, ConnectorSink, RunningConnector } from '../src/ingest/connectors/connector.js';
import { decodePosition, postgresCdcConnector } from '../src/ingest/connectors/postgres/index.js';
import { postgresCdcConfig } from '../src/ingest/connectors/postgres/postgres-cdc-config.js';
import { inspectTable, keyPartIndex } from '../src/ingest/connectors/postgres/table-inspection.js';
import { CDC_SCHEMA, cdcSuite } from './support/cdc-harness.js';
import { replay } from './support/cdc-replay.js';
import { FileConnectorSink } from './support/file-connector-sink.js';

// The Postgres CDC connector against a real PostgreSQL: changes, reconnection, stop, what Postgres
// cannot tell, configuration errors. Resuming after stops and crashes: postgres-cdc-resume.server.test.ts.
await cdcSuite('postgres-cdc.server.test.ts', 'Postgres CDC connector (real PostgreSQL)', (h) => {
  it('reads the snapshot, then inserts, updates and deletes in commit order with their commit times', async () => {
    await h.sql(`INSERT INTO accounts VALUES (1, 'gold', 100.5, '2024-03-01 12:00:00.123456+00', 'secret'), (2, 'silver', 50, NULL, NULL), (3, NULL, NULL, NULL, NULL)`);
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    const connector = await h.start(sink);
    await h.until('the snapshot', () => sink.events.length === 3);
    const snapshot = sink.parsed();
    expect(snapshot.map((e) => e._op)).toEqual(['snapshot', 'snapshot', 'snapshot']);
    expect(snapshot[0]).toEqual({ account_id: '1', tier: 'gold', credit_limit: '100.5', updated: '2024-03-01 12:00:00.123456+00', _op: 'snapshot', _changed_at: snapshot[0]!._changed_at });
    expect(snapshot[0]!._changed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const before = new Date(Date.now() - 1).toISOString();
    await h.sql(`INSERT INTO accounts VALUES (4, 'bronze', 10, NULL, 'x')`);
    await h.sql(`UPDATE accounts SET tier = 'platinum' WHERE account_id = 1`);
    await h.sql(`DELETE FROM accounts WHERE account_id = 2`);
    await h.sql(`BEGIN; INSERT INTO accounts VALUES (5, 'gold', 1, NULL, NULL); UPDATE accounts SET credit_limit = 2 WHERE account_id = 5; UPDATE accounts SET account_id = 6 WHERE account_id = 3; COMMIT`);
    const after = new Date(Date.now() + 1).toISOString();
    await h.until('the changes', () => sink.events.length === 10);
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
    expect(replay(sink.parsed())).toEqual(await h.tableRows());
    const status = connector.status();
    expect(status).toMatchObject({ source: 'accounts', kind: 'postgresCdc', state: 'running', received: 10 });
    expect(decodePosition(status.position!).phase).toBe('stream');
    const lag = await h.until('the lag', () => connector.status().lag);
    expect(lag).toBeGreaterThanOrEqual(0);
  });

  it('reconnects when the server drops the replication connection, and goes on where it was', async () => {
    await h.sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    const log: string[] = [];
    const connector = await h.start(sink, {}, log);
    // The slot is also active while the snapshot is exported: wait for the streaming walsender,
    // or the termination can hit the snapshot's connection as it closes and go unnoticed.
    const streaming = `SELECT s.active_pid FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = 'sluice_accounts' AND r.state = 'streaming'`;
    await h.until('the stream', async () => sink.events.length === 1 && (await h.db.query(streaming)).rowCount === 1);
    await h.sql(`SELECT pg_terminate_backend(active_pid) FROM (${streaming}) streaming`);
    await h.sql(`INSERT INTO accounts VALUES (2, 'b', 1, NULL, NULL)`);
    await h.sql(`UPDATE accounts SET tier = 'c' WHERE account_id = 1`);
    await h.until('the changes', () => sink.events.length === 3);
    expect(replay(sink.parsed())).toEqual(await h.tableRows());
    await h.until('running again', () => connector.status().state === 'running');
    expect(connector.status().lastError).toMatch(/terminat/i);
    expect(log.some((m) => m.startsWith('warn postgres cdc: ') && /retrying in \d+ ms/.test(m))).toBe(true);
    expect(log.join('\n')).not.toMatch(/postgres:\/\/|password/);
  });

  it('lets go of its slot before stop() resolves: a successor started at once finds it free', async () => {
    await h.sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    const connector = await h.start(sink);
    const streaming = `SELECT s.active_pid AS pid FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = 'sluice_accounts' AND r.state = 'streaming'`;
    const pid = await h.until('the stream', async () => sink.events.length === 1 && (await h.db.query<{ pid: number }>(streaming)).rows[0]?.pid);
    // The walsender is held still, so that a stop() that does not wait for it resolves first.
    process.kill(pid, 'SIGSTOP');
    let activeWhenStopped: boolean | undefined;
    let held = true;
    try {
      const stopping = connector.stop().then(async () => {
        activeWhenStopped = (await h.db.query<{ active: boolean }>(`SELECT active FROM pg_replication_slots WHERE slot_name = 'sluice_accounts'`)).rows[0]!.active;
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
    const next = new FileConnectorSink(join(h.dir, 'sink.json'));
    const log: string[] = [];
    const successor = await h.start(next, {}, log);
    await h.sql(`UPDATE accounts SET tier = 'b' WHERE account_id = 1`);
    await h.until('the update', () => next.events.length === 2);
    expect(replay(next.parsed())).toEqual(await h.tableRows());
    expect(successor.status().lastError).toBeUndefined();
  });

  it('says when Postgres cannot tell: an unchanged large value (without REPLICA IDENTITY FULL), a truncate', async () => {
    const large = `(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i)`;
    await h.sql(`INSERT INTO accounts VALUES (1, ${large}, 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    const log: string[] = [];
    await h.start(sink, {}, log);
    await h.until('the snapshot', () => sink.events.length === 1);
    expect(sink.parsed()[0]!.tier).toHaveLength(9600);
    await h.sql(`UPDATE accounts SET credit_limit = 2 WHERE account_id = 1`);
    await h.sql(`ALTER TABLE accounts REPLICA IDENTITY FULL`);
    await h.sql(`UPDATE accounts SET credit_limit = 3 WHERE account_id = 1`);
    await h.until('the updates', () => sink.events.length === 3);
    const [, without, full] = sink.parsed();
    expect([without!.tier, without!.credit_limit]).toEqual([null, '2']);
    expect([full!.tier!.length, full!.credit_limit]).toEqual([9600, '3']);
    expect(log.filter((m) => /^warn .*the update at LSN [0-9A-F]+\/[0-9A-F]+ of table public\.accounts \(commit [0-9A-F]+\/[0-9A-F]+\) did not carry the unchanged large value\(s\) of tier .*REPLICA IDENTITY FULL/.test(m))).toHaveLength(1);
    await h.sql(`TRUNCATE accounts`);
    await h.until('the truncate warning', () => log.some((m) => /^warn .*table public\.accounts was truncated at LSN [0-9A-F]+\/[0-9A-F]+:/.test(m)));
  });

  it('a declared column dropped mid-stream: its values become null, and the connector reports the dropped column (once) for a schema_changed warning', async () => {
    await h.sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    const log: string[] = [];
    const incidents: ConnectorIncident[] = [];
    await h.start(sink, {}, log, incidents);
    await h.until('the snapshot', () => sink.events.length === 1);
    await h.sql(`ALTER TABLE accounts DROP COLUMN tier`);
    await h.sql(`INSERT INTO accounts VALUES (2, 2, NULL, NULL)`);
    await h.sql(`INSERT INTO accounts VALUES (3, 3, NULL, NULL)`);
    await h.until('the inserts', () => sink.events.length === 3);
    expect(sink.parsed().map((e) => e.tier)).toEqual(['a', null, null]);
    // The message names where in the WAL the table was seen without the column.
    const message = expect.stringMatching(/^table public\.accounts no longer has column\(s\) tier \(as of LSN [0-9A-F]+\/[0-9A-F]+\); their values are written as null$/);
    expect(incidents).toEqual([{ kind: 'columns_dropped', columns: ['tier'], message }]);
    expect(log.filter((m) => m.includes('no longer has column'))).toEqual([expect.stringMatching(/^warn postgres cdc: table public\.accounts no longer has column\(s\) tier \(as of LSN /)]);
  });

  it('stops as failed, saying why, when its slot was dropped: it does not continue with a gap', async () => {
    await h.sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const file = join(h.dir, 'sink.json');
    const first = new FileConnectorSink(file);
    await h.start(first);
    await h.until('the snapshot', () => first.events.length === 1);
    await h.stopAll();
    await h.sql(`SELECT pg_drop_replication_slot('sluice_accounts')`);
    const log: string[] = [];
    const second = new FileConnectorSink(file);
    const connector = await h.start(second, {}, log);
    await h.until('the failure', () => connector.status().state === 'failed');
    expect(connector.status().lastError).toMatch(/replication slot "sluice_accounts" is gone.*clear source "accounts"'s history/);
    expect(second.events).toHaveLength(1);
  });

  it('waits while the sink is overloaded instead of failing, and delivers everything once', async () => {
    await h.sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    let refusals = 3;
    const overloaded: ConnectorSink = {
      position: () => sink.position(),
      append: (events, position) => {
        if (refusals-- > 0) throw Object.assign(new Error('source "accounts" has events waiting; retry after a second'), { code: 'OVERLOADED' });
        return sink.append(events, position);
      },
    };
    const connector = await postgresCdcConnector()(h.source(), overloaded, {});
    h.track(connector);
    await h.until('the snapshot', () => sink.events.length === 1);
    refusals = 2;
    await h.sql(`UPDATE accounts SET tier = 'b' WHERE account_id = 1`);
    await h.until('the update', () => sink.events.length === 2);
    expect(replay(sink.parsed())).toEqual(await h.tableRows());
    expect(connector.status()).toMatchObject({ state: 'running', received: 2 });
    expect(connector.status().lastError).toBeUndefined();
  });

  it('an append that fails after every reconnect: it stays retrying with a growing backoff (a connection alone is no progress), until an append succeeds', async () => {
    await h.sql(`INSERT INTO accounts VALUES (1, 'a', 1, NULL, NULL)`);
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    let failing = false;
    const states: string[] = [];
    const started: RunningConnector[] = [];
    const broken: ConnectorSink = {
      position: () => sink.position(),
      append: (events, position) => {
        if (failing) states.push(started[0]?.status().state ?? 'starting');
        return failing ? Promise.reject(new Error('the log is full')) : sink.append(events, position);
      },
    };
    const log: string[] = [];
    const connector = await postgresCdcConnector({ firstRetryMs: 50 })(h.source(), broken, { log: (level, m) => log.push(`${level} ${m}`) });
    started.push(connector);
    h.track(connector);
    await h.until('the snapshot', () => sink.events.length === 1);
    failing = true;
    await h.sql(`UPDATE accounts SET tier = 'b' WHERE account_id = 1`);
    const delays = () => log.flatMap((l) => /retrying in (\d+) ms$/.exec(l)?.slice(1) ?? []).map(Number);
    await h.until('five failed appends', () => delays().length >= 5);
    // Retry k waits between 25 * 2^k and 50 * 2^k ms: reconnecting did not reset the count of attempts.
    delays().slice(0, 5).forEach((ms, k) => expect(ms).toBeGreaterThanOrEqual(25 * 2 ** k));
    expect(states.slice(1).every((s) => s === 'retrying')).toBe(true);
    // The error names the change it could not append: its LSN and table.
    expect(connector.status()).toMatchObject({ state: 'retrying', lastError: expect.stringMatching(/^cannot append the change at LSN [0-9A-F]+\/[0-9A-F]+ of table public\.accounts \(1 event\): the log is full$/) });
    expect(log.some((l) => /^warn postgres cdc: cannot append the change at LSN .* of table public\.accounts \(1 event\): the log is full; retrying in \d+ ms$/.test(l))).toBe(true);
    failing = false;
    await h.until('the update', () => sink.events.length === 2);
    await h.until('running again', () => connector.status().state === 'running');
  });

  it('compares keys as the table orders them: numbers as numbers, text in the column collation', async () => {
    await h.sql(`CREATE TABLE named (name text COLLATE "C" PRIMARY KEY, tier text)`);
    const shape = async (table: string, schema: Record<string, 'int64' | 'string'>, key: string) => {
      const spec = cdcSource({ name: `keys_${key}`, key, schema, connector: postgresCdc({ connection: h.live.url(h.database), table }) });
      const compiled = compileProject(defineProject({ name: 'p', entities: [], sources: [spec], featureViews: [] })).sources[0]!;
      return inspectTable(h.db, postgresCdcConfig(compiled));
    };
    const numbers = await shape('public.accounts', { account_id: 'int64' }, 'account_id');
    expect(await keyPartIndex(h.db, numbers, ['150'], '1000')).toBe(1);
    expect(await keyPartIndex(h.db, numbers, ['150', '2000'], '1000')).toBe(1);
    expect(await keyPartIndex(h.db, numbers, ['150'], '150')).toBe(0);
    const names = await shape('public.named', { name: 'string' }, 'name');
    expect(names.keyCollate).toBe('COLLATE pg_catalog."C"');
    expect(await keyPartIndex(h.db, names, ['b'], 'B')).toBe(0);
    expect(await keyPartIndex(h.db, names, ['b'], 'ba')).toBe(1);
  });

  it('names a missing environment variable, a wrong table and a missing column', async () => {
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    const start = postgresCdcConnector();
    const missingVariable = start(h.source({ variable: 'SLUICE_TEST_NOT_SET' }), sink, {});
    await expect(missingVariable).rejects.toBeInstanceOf(ConfigError);
    await expect(missingVariable).rejects.toThrow(/SLUICE_TEST_NOT_SET/);
    await expect(start(h.source({ table: 'public.acounts' }), sink, {})).rejects.toThrow(/table "public.acounts" does not exist in database "cdc_\d+" \(did you mean "public.accounts"\?\)/);
    await expect(start(h.source({ schema: { ...CDC_SCHEMA, segment: 'string' } }), sink, {})).rejects.toThrow(/has no column "segment"/);
    await h.sql(`CREATE TABLE no_key (account_id bigint, tier text)`);
    await expect(start(h.source({ table: 'public.no_key', schema: { account_id: 'int64', tier: 'string' } }), sink, {})).rejects.toThrow(/not unique on its own/);
  });
});
