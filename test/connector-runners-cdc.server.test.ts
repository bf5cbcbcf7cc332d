import { afterAll, describe, expect, it } from 'vitest';
import { CONNECTORS } from '../src/ingest/connectors/index.js';
import { openPlatform, type Platform } from '../src/platform.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { until } from './support/cdc-replay.js';
import { accountsDatabase, startPostgres } from './support/postgres-server.js';
import { tempPlatform } from './support/temp-platform.js';
import { crmAccountsSpec } from './support/crm-accounts.js';

const server = await startPostgres();
if ('skip' in server) console.warn(`connector-runners-cdc.server.test.ts skipped: ${server.skip}`);
const live = 'skip' in server ? undefined : server;
afterAll(async () => live?.stop());

const spec = crmAccountsSpec;
const TTL_MS = 1_500;

describe.skipIf(!live)('one active runner per Postgres CDC connector', () => {
  it('two runtimes on one table: one follows the slot, the standby never touches it ("in use by another connection"); a clean stop hands it over; every change in the log once', async () => {
    const db = await accountsDatabase(live!, 'crm_runners');
    await db.query("INSERT INTO accounts SELECT i, 'silver', i FROM generate_series(1, 20) AS i");
    process.env.SLUICE_TEST_CRM_URL = live!.url('crm_runners');
    const env_ = await tempPlatform(spec, Date.now());
    const other = openPlatform({ projectDir: env_.dir, threads: 1, projectSpec: spec });
    const lines: Record<string, string[]> = { first: [], second: [] };
    const runtime = (platform: Platform, name: string) => startStreamRuntime({ ...platform, now: () => Date.now() }, {
      project: () => env_.project, connectors: CONNECTORS, commitIntervalMs: 200, connectorLeaseTtlMs: TTL_MS, log: (level, message) => lines[name]!.push(`${level} ${message}`),
    });
    const changes = async () => (await env_.platform.log()).read('accounts', 0, 100_000).flatMap((e) => e.events.map((text) => String((JSON.parse(text) as { account_id: unknown }).account_id)));
    let first: StreamRuntime | undefined;
    let second: StreamRuntime | undefined;
    try {
      first = await runtime(env_.platform, 'first');
      second = await runtime(other, 'second');
      expect(first.status()[0]!.runner?.role).toBe('active');
      expect(second.status()[0]!.runner?.role).toBe('standby');
      await until('the snapshot in the log', async () => (await changes()).length >= 20 || undefined);
      await db.query("INSERT INTO accounts SELECT i, 'gold', i FROM generate_series(21, 30) AS i");
      await until('the inserts in the log', async () => (await changes()).length >= 30 || undefined);
      // Standing by for several ttls: it never opened the slot.
      await new Promise((resolve) => setTimeout(resolve, 2 * TTL_MS));
      expect(second.status()[0]!.connector).toBeUndefined();

      await first.close();
      first = undefined;
      await until('the standby takes over', async () => second!.status()[0]!.connector?.state === 'running' || undefined, 60_000);
      await db.query("INSERT INTO accounts SELECT i, 'platinum', i FROM generate_series(31, 45) AS i");
      await until('every change in the log', async () => (await changes()).length >= 45 || undefined, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const ids = await changes();
      expect(ids).toHaveLength(45);
      expect(new Set(ids).size).toBe(45);
      for (const name of ['first', 'second']) {
        expect(lines[name]!.filter((l) => l.includes('in use by another connection'))).toEqual([]);
        expect(lines[name]!.filter((l) => l.startsWith('error '))).toEqual([]);
      }
    } finally {
      await first?.close();
      await second?.close();
      await other.close();
      await db.end();
      await env_.dispose();
    }
  }, 180_000);
});
