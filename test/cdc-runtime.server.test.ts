import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cdcSource, defineProject, entity, env, featureView, field, postgresCdc } from '../src/definitions/index.js';
import { CONNECTORS } from '../src/ingest/connectors/index.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { until } from './support/cdc-replay.js';
import { startPostgres } from './support/postgres-server.js';
import { tempPlatform } from './support/temp-platform.js';

const server = await startPostgres();
if ('skip' in server) console.warn(`cdc-runtime.server.test.ts skipped: ${server.skip}`);
const live = 'skip' in server ? undefined : server;
afterAll(async () => live?.stop());

const account = entity({ name: 'account', joinKey: 'account_id' });
const accounts = cdcSource({ name: 'accounts', key: 'account_id', schema: { account_id: 'int64', tier: 'string', credit_limit: 'float64' }, connector: postgresCdc({ connection: env('SLUICE_TEST_CRM_URL'), table: 'public.accounts' }) });
const profile = featureView({ name: 'profile', entity: account, source: accounts, features: { tier: field('tier'), credit_limit: field('credit_limit') } });
const spec = defineProject({ name: 'crm', entities: [account], sources: [accounts], featureViews: [profile] });

describe.skipIf(!live)('Postgres CDC through sluice: the table, followed into online features and the lake', () => {
  it('snapshot, inserts, updates and deletes reach online serving; the lake holds every change once', async () => {
    const admin = new pg.Client({ connectionString: live!.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE crm_runtime');
    await admin.end();
    const db = new pg.Client({ connectionString: live!.url('crm_runtime') });
    await db.connect();
    await db.query('CREATE TABLE accounts (account_id BIGINT PRIMARY KEY, tier TEXT, credit_limit DOUBLE PRECISION)');
    await db.query("INSERT INTO accounts VALUES (1, 'silver', 100), (2, 'gold', 500), (9007199254740993, 'big', 1)");
    process.env.SLUICE_TEST_CRM_URL = live!.url('crm_runtime');
    const env_ = await tempPlatform(spec, Date.now());
    env_.clock.now = Date.now();
    const platform = { ...env_.platform, now: () => Date.now() };
    const runtime = await startStreamRuntime(platform, { project: () => env_.project, connectors: CONNECTORS, commitIntervalMs: 200 });
    const serve = async () => getOnlineFeatures(env_.project, await env_.platform.online(), { entities: { account_id: [1, 2, '9007199254740993', 3] }, features: ['profile:tier', 'profile:credit_limit'] }, Date.now() + 1, await latestSnapshots(env_.platform.metadata, env_.project));
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
      await runtime.close();
      await db.end();
      await env_.dispose();
    }
  }, 120_000);
});
