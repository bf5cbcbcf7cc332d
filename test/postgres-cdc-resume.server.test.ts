import { join } from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { decodePosition } from '../src/ingest/connectors/postgres/index.js';
import { parseLsn } from '../src/ingest/connectors/postgres/lsn.js';
import { cdcSuite } from './support/cdc-harness.js';
import { mulberry32, replay, replayed, sameRows } from './support/cdc-replay.js';
import { FileConnectorSink } from './support/file-connector-sink.js';

// The Postgres CDC connector resuming after stops and crashes against a real PostgreSQL: no gap, no
// double, in the snapshot and in the stream.
await cdcSuite('postgres-cdc-resume.server.test.ts', 'Postgres CDC connector resuming (real PostgreSQL)', (h) => {
  it('resumes after a stop and after a crash between append and acknowledgement: no gap, no double', async () => {
    await h.sql(`INSERT INTO accounts SELECT i, 'tier' || i, i, NULL, NULL FROM generate_series(1, 20) i`);
    const file = join(h.dir, 'sink.json');
    const first = new FileConnectorSink(file);
    const one = await h.start(first, { maxBatch: 3 });
    await h.until('the snapshot', () => first.events.length === 20);
    await h.sql(`UPDATE accounts SET tier = 'a' WHERE account_id = 1`);
    await h.until('the first changes', () => first.events.length === 21);
    await one.stop();
    expect(one.status().state).toBe('stopped');

    await h.sql(`DELETE FROM accounts WHERE account_id = 2`);
    await h.sql(`INSERT INTO accounts VALUES (100, 'while stopped', 1, NULL, NULL)`);
    const second = new FileConnectorSink(file);
    await h.start(second, { maxBatch: 3, firstRetryMs: 60_000 });
    await h.until('the changes made while stopped', () => second.events.length === 23);

    // A crash after the events of a large transaction are durable, before Postgres hears of it.
    let crashes = 0;
    second.afterAppend = (_events, position) => {
      if (position !== undefined && decodePosition(position).phase === 'stream' && crashes++ === 1) throw new Error('simulated crash after append');
    };
    await h.sql(`BEGIN; INSERT INTO accounts SELECT i, 'batch', i, NULL, NULL FROM generate_series(200, 206) i; UPDATE accounts SET tier = 'b' WHERE account_id = 3; COMMIT`);
    await h.until('the crash', () => crashes >= 2);
    await h.stopAll();
    const stored = decodePosition((await second.position())!);
    expect(stored).toMatchObject({ phase: 'stream', txn: { done: 6 } });
    const crashed = parseLsn(stored.phase === 'stream' ? stored.txn!.commit : '0/0');
    // Postgres was not told: it sends the transaction again, and the connector must skip what is appended.
    expect(parseLsn(await h.slotConfirmed())).toBeLessThanOrEqual(crashed);

    await h.sql(`INSERT INTO accounts VALUES (300, 'after crash', 1, NULL, NULL)`);
    const third = new FileConnectorSink(file);
    await h.start(third, { maxBatch: 3 });
    await h.until('all changes', () => third.events.length === 23 + 8 + 1);
    expect(replay(third.parsed())).toEqual(await h.tableRows());
    await h.until('the acknowledgement', async () => parseLsn(await h.slotConfirmed()) > crashed);
  });

  it('neither loses nor doubles rows changed while the snapshot is read', async () => {
    await h.sql(`INSERT INTO accounts SELECT i * 10, 'v0', i, NULL, NULL FROM generate_series(1, 50) i`);
    const sink = new FileConnectorSink(join(h.dir, 'sink.json'));
    let changed = false;
    sink.afterAppend = async (_events, position) => {
      if (changed || position === undefined || decodePosition(position).phase !== 'snapshot') return;
      changed = true;
      await h.sql(`INSERT INTO accounts VALUES (5, 'new low', 1, NULL, NULL), (15, 'new mid', 1, NULL, NULL), (1000, 'new high', 1, NULL, NULL)`);
      await h.sql(`UPDATE accounts SET tier = 'v1' WHERE account_id IN (10, 500)`);
      await h.sql(`DELETE FROM accounts WHERE account_id IN (20, 490)`);
    };
    await h.start(sink, { snapshotBatchSize: 5 });
    await h.until('the snapshot and the changes', () => sink.events.length === 50 + 3 + 2 + 2);
    const events = sink.parsed();
    expect(events.filter((e) => e._op === 'snapshot').map((e) => e.account_id)).toEqual(Array.from({ length: 50 }, (_, i) => String((i + 1) * 10)));
    expect(events.filter((e) => e._op !== 'snapshot').map((e) => `${e._op} ${e.account_id}`)).toEqual([
      'insert 5', 'insert 15', 'insert 1000', 'update 10', 'update 500', 'delete 20', 'delete 490',
    ]);
    expect(replay(events)).toEqual(await h.tableRows());
  });

  it('resumes a snapshot interrupted by a crash in a new snapshot, filtering the changes it already holds', async () => {
    await h.sql(`INSERT INTO accounts SELECT i * 10, 'v0', i, NULL, NULL FROM generate_series(1, 50) i`);
    const file = join(h.dir, 'sink.json');
    const first = new FileConnectorSink(file);
    first.afterAppend = () => {
      if (first.events.length === 15) throw new Error('simulated crash in the snapshot');
    };
    await h.start(first, { snapshotBatchSize: 5, firstRetryMs: 60_000 });
    await h.until('the crash', () => first.events.length === 15);
    await h.stopAll();
    expect(decodePosition((await first.position())!)).toMatchObject({ phase: 'snapshot', rows: 15, parts: [{ to: '150' }] });

    // Changes on both sides of the last key read (150), made before the snapshot resumes.
    await h.sql(`INSERT INTO accounts VALUES (5, 'low', 1, NULL, NULL), (1000, 'high', 1, NULL, NULL)`);
    await h.sql(`UPDATE accounts SET tier = 'v1' WHERE account_id IN (10, 400)`);
    await h.sql(`DELETE FROM accounts WHERE account_id IN (20, 490)`);
    const second = new FileConnectorSink(file);
    let changedDuring = false;
    second.afterAppend = async () => {
      if (changedDuring) return;
      changedDuring = true;
      await h.sql(`UPDATE accounts SET tier = 'v2' WHERE account_id IN (30, 300)`);
    };
    await h.start(second, { snapshotBatchSize: 5 });
    await h.until('the rest of the snapshot and the changes', async () => replayed(second) && second.events.length >= 15 + 35 && sameRows(second, await h.tableRows()));
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
    expect(replay(events)).toEqual(await h.tableRows());
    expect(decodePosition((await second.position())!).phase).toBe('stream');
  });

  it('loses and doubles nothing through random crashes during the snapshot and the stream, with writes going on', async () => {
    const seed = Number(process.env.SLUICE_TEST_SEED ?? Date.now() % 100_000);
    const random = mulberry32(seed);
    const pick = (n: number): number => Math.floor(random() * n);
    await h.sql(`INSERT INTO accounts SELECT i, 'v0', i, NULL, NULL FROM generate_series(1, 60) i`);
    let writing = true;
    let nextKey = 1000;
    const writer = (async () => {
      const client = new pg.Client({ connectionString: h.live.url(h.database) });
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
    const file = join(h.dir, 'sink.json');
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
        const connector = await h.start(sink, { snapshotBatchSize: 4, maxBatch: 5 }, log);
        await h.until(`crash ${round} (seed ${seed})`, () => crashed || connector.status().state === 'failed', 60_000, () => `connector ${JSON.stringify(connector.status())}; log:\n${log.join('\n')}`);
        expect(crashed, `round ${round} (seed ${seed}): ${connector.status().lastError}\n${log.join('\n')}`).toBe(true);
        await h.stopAll();
        replay(sink.parsed());
      }
      const last = new FileConnectorSink(file);
      const log: string[] = [];
      const connector = await h.start(last, { maxBatch: 5 }, log);
      writing = false;
      await writer;
      const expected = await h.tableRows();
      await h.until(`all changes (seed ${seed})`, () => sameRows(last, expected), 60_000, () => `connector ${JSON.stringify(connector.status())}; log:\n${log.join('\n')}`);
      expect(replay(last.parsed()), `seed ${seed}`).toEqual(expected);
    } finally {
      // A failure above must not leave the writer running into the server's shutdown.
      writing = false;
      await writer.catch(() => undefined);
    }
  });
});
