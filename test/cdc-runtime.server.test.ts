import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CONNECTORS } from '../src/ingest/connectors/index.js';
import { parseLsn } from '../src/ingest/connectors/postgres/lsn.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { startRealTime } from '../src/cli/commands/real-time.js';
import { healthStatus } from '../src/observability/status/index.js';
import { until } from './support/cdc-replay.js';
import { accountsDatabase, startPostgres } from './support/postgres-server.js';
import { tempPlatform } from './support/temp-platform.js';
import { crmAccountsSpec } from './support/crm-accounts.js';

const server = await startPostgres();
if ('skip' in server) console.warn(`cdc-runtime.server.test.ts skipped: ${server.skip}`);
const live = 'skip' in server ? undefined : server;
afterAll(async () => live?.stop());

const spec = crmAccountsSpec;

/** A new database `database` whose table `accounts` holds `rows` (SQL values), followed by the source's connection setting; the slot an earlier test left (its process closed) goes: slot names are server-wide. */
async function accountsIn(database: string, rows: string): Promise<pg.Client> {
  const db = await accountsDatabase(live!, database);
  await db.query(`INSERT INTO accounts VALUES ${rows}`);
  process.env.SLUICE_TEST_CRM_URL = live!.url(database);
  return db;
}

/** {@link accountsIn}, followed by a stream runtime with the real connectors; `close` ends it all. */
async function runtimeOn(database: string, rows: string) {
  const db = await accountsIn(database, rows);
  const env_ = await tempPlatform(spec, Date.now());
  env_.clock.now = Date.now();
  const platform = { ...env_.platform, now: () => Date.now() };
  const runtime = await startStreamRuntime(platform, { project: () => env_.project, connectors: CONNECTORS, commitIntervalMs: 200 });
  const serve = async (keys: (number | string)[], features: string[]) => getOnlineFeatures(env_.project, await env_.platform.online(), { entities: { account_id: keys }, features }, Date.now() + 1, await latestSnapshots(env_.platform.metadata, env_.project));
  const close = async () => {
    await runtime.close();
    await db.end();
    await env_.dispose();
  };
  return { db, env: env_, runtime, serve, close };
}

describe.skipIf(!live)('Postgres CDC through sluice: the table, followed into online features and the lake', () => {
  it('snapshot, inserts, updates and deletes reach online serving; the lake holds every change once', async () => {
    const { db, env: env_, runtime, serve: read, close } = await runtimeOn('crm_runtime', "(1, 'silver', 100), (2, 'gold', 500), (9007199254740993, 'big', 1)");
    const serve = () => read([1, 2, '9007199254740993', 3], ['profile:tier', 'profile:credit_limit']);
    try {
      await until('the snapshot online', async () => (await serve()).rows[2]!.profile__tier === 'big');
      await db.query("UPDATE accounts SET tier = 'platinum', credit_limit = 9000 WHERE account_id = 1");
      await db.query('DELETE FROM accounts WHERE account_id = 2');
      await db.query("INSERT INTO accounts VALUES (3, 'bronze', NULL)");
      await until('the changes online', async () => (await serve()).rows[3]!.profile__tier === 'bronze');
      const res = await serve();
      expect(res.rows.map((r) => [r.profile__tier, r.profile__credit_limit])).toEqual([['platinum', 9000], [null, null], ['big', 1], ['bronze', null]]);
      expect(res.metadata.map((m) => m.status[0])).toEqual(['PRESENT', 'NOT_FOUND', 'PRESENT', 'PRESENT']);
      expect(res.views.profile!.status).toBe('FRESH');
      await until('every change in the lake', async () => (await env_.platform.metadata.latestSnapshot('accounts'))?.rowCount === 6);
      expect(runtime.status()[0]!.connector).toMatchObject({ kind: 'postgresCdc', state: 'running' });
    } finally {
      await close();
    }
  }, 120_000);

  it('a poison change (float8 NaN, which no float64 is) is dead-lettered naming its LSN and table, the connector moves on and the next change is applied', async () => {
    const { db, env: env_, runtime, serve: read, close } = await runtimeOn('crm_poison', "(1, 'silver', 100), (2, 'nan', 'NaN')");
    const serve = () => read([1, 3], ['profile:tier']);
    try {
      await until('the snapshot online', async () => (await serve()).rows[0]!.profile__tier === 'silver');
      const before = (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
      await db.query("INSERT INTO accounts VALUES (3, 'poison', '-Infinity')");
      const after = (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
      await db.query("UPDATE accounts SET tier = 'gold' WHERE account_id = 1");
      await until('the next change online', async () => (await serve()).rows[0]!.profile__tier === 'gold');
      expect((await serve()).metadata[1]!.status[0]).toBe('NOT_FOUND');
      await until('the dead letters committed', async () => (await env_.platform.metadata.listDeadLetters({ source: 'accounts' })).length === 2);
      const letters = await env_.platform.metadata.listDeadLetters({ source: 'accounts' });
      const [snapshot, change] = letters.map((l) => ({ ...l, at: /^postgresCdc \(log entry \d+, (.*)\)$/.exec(l.file)?.[1] }));
      expect([snapshot!.reason, change!.reason]).toEqual(['column "credit_limit": "NaN" is not a float64', 'column "credit_limit": "-Infinity" is not a float64']);
      expect(snapshot!.at).toMatch(/^the snapshot at LSN [0-9A-F]+\/[0-9A-F]+ of table public\.accounts$/);
      const at = /^LSN ([0-9A-F]+\/[0-9A-F]+) of table public\.accounts$/.exec(change!.at ?? '');
      expect(at, change!.file).not.toBeNull();
      expect(parseLsn(at![1]!) >= parseLsn(before) && parseLsn(at![1]!) < parseLsn(after)).toBe(true);
      expect(runtime.status()[0]!.connector).toMatchObject({ kind: 'postgresCdc', state: 'running' });
    } finally {
      await close();
    }
  }, 120_000);

  const followed = async (database: string) => {
    const db = await accountsIn(database, "(1, 'silver', 100)");
    const env_ = await tempPlatform(spec, Date.now());
    const platform = { ...env_.platform, now: () => Date.now() };
    await platform.metadata.recordRegistry(env_.project);
    const lines: string[] = [];
    const start = () => startRealTime(platform, (level, message) => lines.push(`${level} ${message}`));
    const realTime = await start();
    const firing = async () => (await platform.metadata.health.list({ firing: true })).map((c) => `${c.kind} ${c.subject} ${c.severity}`).sort();
    await until('the connector runs', async () => realTime.runtime.status()[0]?.connector?.state === 'running' && (await platform.metadata.latestSnapshot('accounts')) !== undefined).catch(async (error: Error) => {
      const status = realTime.runtime.status();
      await realTime.close();
      await db.end();
      await env_.dispose();
      throw new Error(`${error.message}: ${JSON.stringify(status)}\n${lines.join('\n')}`);
    });
    return { db, env: env_, platform, lines, start, realTime, firing };
  };

  it('as serve and worker run it: a slot dropped behind its back is connector_failed, with an error line', async () => {
    const { db, env: env_, platform, lines, realTime, firing } = await followed('crm_slot_drop');
    try {
      for (let i = 0; i < 50; i++) {
        await db.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'sluice_accounts' AND active_pid IS NOT NULL");
        if (await db.query("SELECT pg_drop_replication_slot('sluice_accounts')").then(() => true, () => false)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await until('connector_failed', async () => (await firing()).includes('connector_failed connector:accounts error'));
      const status = await healthStatus(platform, env_.project);
      expect(status.healthy).toBe(false);
      expect(status.problems.join('\n')).toMatch(/connector_failed connector:accounts: source "accounts": connector postgresCdc failed: .*slot/);
      expect(lines.some((l) => /^error source "accounts": postgres cdc: stopped: .*slot/.test(l))).toBe(true);
    } finally {
      await realTime.close();
      await db.end();
      await env_.dispose();
    }
  }, 120_000);

  it('a connection lost while a declared column is missing is connector_failed naming the column and the fix, not retrying; the column back, it runs again', async () => {
    const { db, env: env_, lines, realTime, firing } = await followed('crm_lost_dropped');
    try {
      await db.query('ALTER TABLE accounts DROP COLUMN credit_limit');
      await db.query("INSERT INTO accounts VALUES (2, 'gold')");
      await until('schema_changed', async () => (await firing()).includes('schema_changed source:accounts warn'));
      await db.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'sluice_accounts' AND active_pid IS NOT NULL");
      await until('the connector fails', async () => realTime.runtime.status()[0]?.connector?.state === 'failed');
      expect(realTime.runtime.status()[0]!.connector!.lastError).toMatch(/table "public.accounts" has no column "credit_limit".*Fix the source's schema or the table/);
      await until('connector_failed', async () => (await firing()).includes('connector_failed connector:accounts error'));
      expect(await firing()).toEqual(['connector_failed connector:accounts error', 'schema_changed source:accounts warn']);
      expect(lines.filter((l) => l.startsWith('error ') && l.includes('has no column "credit_limit"'))).toHaveLength(1);
      // Fixed upstream, it is tried again and runs.
      await db.query('ALTER TABLE accounts ADD COLUMN credit_limit DOUBLE PRECISION');
      await until('the connector runs again', async () => realTime.runtime.status()[0]?.connector?.state === 'running', 60_000);
      await until('connector_failed ended', async () => !(await firing()).includes('connector_failed connector:accounts error'));
    } finally {
      await realTime.close();
      await db.end();
      await env_.dispose();
    }
  }, 120_000);

  it('as serve and worker run it: a declared column dropped mid-stream is a schema_changed warning; after a restart the refused start is connector_failed and stays listed', async () => {
    const { db, env: env_, platform, lines, start, realTime, firing } = await followed('crm_drop_column');
    let restarted: Awaited<ReturnType<typeof start>> | undefined;
    try {
      await db.query('ALTER TABLE accounts DROP COLUMN credit_limit');
      await db.query("INSERT INTO accounts VALUES (2, 'gold')");
      await until('schema_changed', async () => (await firing()).includes('schema_changed source:accounts warn'));
      expect(lines.filter((l) => l.includes('no longer has column'))).toEqual([expect.stringMatching(/^warn source "accounts": postgres cdc: table public.accounts no longer has column\(s\) credit_limit/)]);
      await realTime.close();
      restarted = await start();
      expect((restarted.describe() as { sources: { connector?: unknown }[] }).sources[0]!.connector).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/credit_limit/) });
      await until('connector_failed names the missing column', async () => (await platform.metadata.health.list({ firing: true, kind: 'connector_failed' }))[0]?.message.includes('credit_limit') === true);
      expect(await firing()).toEqual(['connector_failed connector:accounts error', 'schema_changed source:accounts warn']);
      expect((await healthStatus(platform, env_.project)).healthy).toBe(false);
    } finally {
      await (restarted ?? realTime).close();
      await db.end();
      await env_.dispose();
    }
  }, 120_000);
});
