import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { batchSource, count, defineProject, entity, env, featureView, last, postgresTable, projectJobs, type PostgresTableSpec, type ProjectSpec } from '../src/definitions/index.js';
import { ingestPostgresTable } from '../src/ingest/connectors/postgres-table/index.js';
import { runJob, type JobContext } from '../src/orchestration/run-job.js';
import { literalList } from '../src/storage/engine/sql-engine.js';
import { sluice } from './support/cli.js';
import { startChild } from './support/child-process.js';
import { startPostgres } from './support/postgres-server.js';
import { tempPlatform } from './support/temp-platform.js';

const server = await startPostgres();
if ('skip' in server) console.warn(`postgres-table.server.test.ts skipped: ${server.skip}`);
const live = 'skip' in server ? undefined : server;

let database: string;
let variable: string;
let db: pg.Client;
let counter = 0;
const disposals: Array<() => Promise<void>> = [];

const SCHEMA = { payment_id: 'int64', account_id: 'string', amount: 'float64', updated_at: 'timestamp' } as const;

function project(connector: Partial<PostgresTableSpec> = {}, eventId?: string): ProjectSpec {
  const account = entity({ name: 'account', joinKey: 'account_id' });
  const payments = batchSource({
    name: 'payments', schema: SCHEMA, timestamp: 'updated_at', ...(eventId ? { eventId } : {}),
    connector: postgresTable({ connection: env(variable), table: 'public.payments', cursor: 'updated_at', key: 'payment_id', ...connector }),
  });
  const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count(), last_amount: last('amount') } });
  return defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats] });
}

async function platformFor(spec: ProjectSpec) {
  const t = await tempPlatform(spec, Date.UTC(2025, 0, 1));
  disposals.push(t.dispose);
  return t;
}

/** Every committed lake row of `payments`, as (payment_id, amount), in id then amount order. */
async function lakeRows(t: Awaited<ReturnType<typeof platformFor>>): Promise<Array<[number, number]>> {
  const snapshot = await t.platform.metadata.latestSnapshot('payments');
  if (snapshot === undefined || snapshot.files.length === 0) return [];
  const engine = await t.platform.engine();
  const rows = await engine.all<{ id: bigint | number; amount: number }>(`SELECT payment_id AS id, amount FROM read_parquet(${literalList(snapshot.files.map((f) => t.platform.lake.resolve(f)))}) ORDER BY 1, 2`);
  return rows.map((r) => [Number(r.id), r.amount]);
}

async function insert(rows: Array<[number, string, number, string | null]>): Promise<void> {
  for (const row of rows) await db.query('INSERT INTO payments (payment_id, account_id, amount, updated_at) VALUES ($1, $2, $3, $4)', row);
}

describe.skipIf(live === undefined)('ingest from a Postgres table by a cursor column (real PostgreSQL)', () => {
  beforeEach(async () => {
    await db?.end();
    database = `tbl_${++counter}`;
    variable = `SLUICE_TEST_PG_${database.toUpperCase()}`;
    const admin = new pg.Client({ connectionString: live!.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    process.env[variable] = live!.url(database);
    db = new pg.Client({ connectionString: live!.url(database) });
    await db.connect();
    await db.query(`CREATE TABLE payments (payment_id bigint PRIMARY KEY, account_id text, amount numeric, updated_at timestamptz, note text)`);
  });

  afterAll(async () => {
    for (const dispose of disposals) await dispose();
    await db?.end();
    await live?.stop();
  });

  it('loads every row first, then only rows after the committed cursor; a re-run adds nothing', async () => {
    await insert([[1, 'a', 10, '2025-01-01T00:00:00Z'], [2, 'b', 20.5, '2025-01-01T00:01:00Z'], [3, '', 30, '2025-01-01T00:02:00Z'], [4, 'a', 40, null]]);
    const t = await platformFor(project());
    const first = await ingestPostgresTable(t.platform, t.project, 'payments');
    // Row 3 has an empty join key: a dead letter, as from a file. Row 4 has no cursor: counted, never read.
    expect(first).toMatchObject({ read: 3, accepted: 2, rejected: 1, skipped: false, nullCursorRows: 1 });
    expect(await lakeRows(t)).toEqual([[1, 10], [2, 20.5]]);
    const letters = await t.platform.metadata.listDeadLetters({ source: 'payments' });
    expect(letters).toMatchObject([{ file: 'postgres:public.payments', line: 3 }]);
    expect(letters[0]!.reason).toContain('account_id');

    await insert([[5, 'c', 50, '2025-01-01T00:03:00Z']]);
    await db.query(`UPDATE payments SET amount = 11, updated_at = '2025-01-01T00:04:00.123456Z' WHERE payment_id = 1`);
    const second = await ingestPostgresTable(t.platform, t.project, 'payments');
    expect(second).toMatchObject({ read: 2, accepted: 2, rejected: 0 });
    // Without an eventId, an updated row is a new event of its entity (its old version stays in history).
    expect(await lakeRows(t)).toEqual([[1, 10], [1, 11], [2, 20.5], [5, 50]]);

    const third = await ingestPostgresTable(t.platform, t.project, 'payments');
    expect(third).toMatchObject({ read: 0, accepted: 0, skipped: true, snapshot: second.snapshot });
    expect(third.nullCursorRows).toBeUndefined();
    expect(await lakeRows(t)).toEqual([[1, 10], [1, 11], [2, 20.5], [5, 50]]);
    const runs = await t.platform.metadata.listRuns(10);
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // The connection string (a secret) is in no run record and not in the registry.
    const stored = JSON.stringify({ runs, registry: await t.platform.metadata.latestRegistry() });
    expect(stored).not.toContain(live!.url(database));
    expect(stored).toContain(variable);
  });

  it('reads rows with equal cursor values across page boundaries, each once, and later rows with that value and a higher key', async () => {
    const same = '2025-01-01T00:00:00Z';
    await insert([[1, 'a', 1, same], [2, 'a', 2, same], [3, 'a', 3, same], [4, 'a', 4, same], [5, 'a', 5, same], [6, 'b', 6, '2024-12-31T00:00:00Z']]);
    const t = await platformFor(project({ pageSize: 2 }));
    expect(await ingestPostgresTable(t.platform, t.project, 'payments')).toMatchObject({ read: 6, accepted: 6 });
    await insert([[7, 'a', 7, same], [8, 'a', 8, '2025-01-01T00:00:01Z']]);
    expect(await ingestPostgresTable(t.platform, t.project, 'payments')).toMatchObject({ read: 2, accepted: 2 });
    expect((await lakeRows(t)).map(([id]) => id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('a crash between reading and committing commits nothing: the next ingest reads the same rows, none skipped or doubled', async () => {
    await insert([[1, 'a', 1, '2025-01-01T00:00:00Z'], [2, 'b', 2, '2025-01-01T00:00:01Z']]);
    const t = await platformFor(project({ pageSize: 1 }, 'payment_id'));
    await ingestPostgresTable(t.platform, t.project, 'payments');
    const mark = await t.platform.metadata.ingestCursor('payments');
    await insert([[3, 'c', 3, '2025-01-01T00:00:02Z'], [4, 'd', 4, '2025-01-01T00:00:03Z']]);
    const crash = (done: number) => {
      if (done === 3) throw new Error('killed before the commit');
    };
    await expect(ingestPostgresTable(t.platform, t.project, 'payments', { onProgress: crash })).rejects.toThrow('killed before the commit');
    expect(await t.platform.metadata.ingestCursor('payments')).toBe(mark);
    expect((await lakeRows(t)).map(([id]) => id)).toEqual([1, 2]);
    expect((await t.platform.metadata.listRuns(1))[0]).toMatchObject({ status: 'failed', error: 'killed before the commit' });
    await insert([[5, 'e', 5, '2025-01-01T00:00:04Z']]);
    expect(await ingestPostgresTable(t.platform, t.project, 'payments')).toMatchObject({ read: 3, accepted: 3, duplicates: 0 });
    expect((await lakeRows(t)).map(([id]) => id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a process killed (SIGKILL) after reading and writing, just before the commit: the next ingest stores every row once', async () => {
    await insert([[1, 'a', 1, '2025-01-01T00:00:00Z'], [2, 'b', 2, '2025-01-01T00:00:01Z']]);
    const t = await platformFor(project({ pageSize: 1 }));
    await ingestPostgresTable(t.platform, t.project, 'payments');
    await insert([[3, 'c', 3, '2025-01-01T00:00:02Z'], [4, 'd', 4, '2025-01-01T00:00:02Z']]);
    const child = await startChild(`
      const { openPlatform } = await dist('platform.js');
      const { ingestPostgresTable } = await dist('ingest/connectors/postgres-table/index.js');
      const platform = openPlatform({ projectDir: ${JSON.stringify(t.dir)} });
      const { project } = await platform.metadata.latestRegistry();
      // Stage 3 comes after the Parquet file is published, just before the commit: block there (synchronously) until killed.
      const stop = (done) => done === 3 && (ready(), Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
      await ingestPostgresTable(platform, project, 'payments', { onProgress: stop });
    `);
    await child.kill();
    expect((await lakeRows(t)).map(([id]) => id)).toEqual([1, 2]);
    await insert([[5, 'e', 5, '2025-01-01T00:00:02Z']]);
    expect(await ingestPostgresTable(t.platform, t.project, 'payments')).toMatchObject({ read: 3, accepted: 3 });
    expect((await lakeRows(t)).map(([id]) => id)).toEqual([1, 2, 3, 4, 5]);
    expect((await t.platform.metadata.listRuns(3)).map((r) => r.status)).toEqual(['succeeded', 'failed', 'succeeded']);
  });

  it('the job ingest:<source> reads the table as "sluice ingest" does, under the job\'s run', async () => {
    await insert([[1, 'a', 1, '2025-01-01T00:00:00Z'], [2, 'b', 2, '2025-01-01T00:00:01Z']]);
    const t = await platformFor(project());
    expect(projectJobs(t.project).map((j) => j.name)).toEqual(['ingest:payments', 'materialize:stats']);
    const jc: JobContext = { ...t.platform, projectDir: t.dir };
    expect(await runJob(jc, t.project, 'ingest:payments')).toMatchObject({ rowsIn: 2, rowsOut: 2 });
    expect(await runJob(jc, t.project, 'ingest:payments')).toMatchObject({ rowsIn: 0, rowsOut: 0, snapshotsWritten: [] });
    expect((await lakeRows(t)).map(([id]) => id)).toEqual([1, 2]);
    await expect(runJob(jc, t.project, 'ingest:payments', { partition: { start: 0, end: 1 } })).rejects.toThrow('takes no partition');
  });

  it('two ingests at once take turns: every row is stored once; an unknown table is an adapter error naming it', async () => {
    await insert([[1, 'a', 1, '2025-01-01T00:00:00Z'], [2, 'b', 2, '2025-01-01T00:00:01Z'], [3, 'c', 3, '2025-01-01T00:00:02Z']]);
    const t = await platformFor(project({ pageSize: 1 }));
    const both = await Promise.all([ingestPostgresTable(t.platform, t.project, 'payments'), ingestPostgresTable(t.platform, t.project, 'payments')]);
    expect(both.map((r) => r.read).sort()).toEqual([0, 3]);
    expect((await lakeRows(t)).map(([id]) => id)).toEqual([1, 2, 3]);
    const missing = await platformFor(project({ table: 'public.paymnts' }));
    await expect(ingestPostgresTable(missing.platform, missing.project, 'payments')).rejects.toMatchObject({ code: 'ADAPTER_FAILED', message: expect.stringContaining('reading postgres:public.paymnts failed: relation "public.paymnts" does not exist') });
  });

  it('reads a query, names a missing column and the fix, and says when the environment variable is unset', async () => {
    await db.query(`CREATE TABLE raw_payments (id bigint, acct text, amt numeric, changed timestamptz)`);
    await db.query(`INSERT INTO raw_payments VALUES (1, 'a', 1.5, '2025-01-01T00:00:00Z'), (2, 'b', -2, '2025-01-01T00:00:01Z')`);
    const query = 'SELECT id AS payment_id, acct AS account_id, amt AS amount, changed AS updated_at FROM raw_payments WHERE amt > 0;';
    const t = await platformFor(project({ table: undefined, query }));
    expect(await ingestPostgresTable(t.platform, t.project, 'payments')).toMatchObject({ read: 1, accepted: 1 });
    expect(await lakeRows(t)).toEqual([[1, 1.5]]);

    const broken = await platformFor(project({ table: undefined, query: 'SELECT id AS payment_id, acct AS account_id, changed AS updated_at FROM raw_payments' }));
    await expect(ingestPostgresTable(broken.platform, broken.project, 'payments')).rejects.toThrow('postgres:query has no column "amount"');
    // A column gone upstream is a schema change: reported on the source, and cleared by the next batch that fits.
    expect(await broken.platform.metadata.health.list({ firing: true, kind: 'schema_changed' })).toMatchObject([{ subject: 'source:payments', details: { missing: ['amount'] } }]);
    expect(await t.platform.metadata.health.list({ firing: true })).toEqual([]);
    const saved = process.env[variable];
    delete process.env[variable];
    try {
      await expect(ingestPostgresTable(t.platform, t.project, 'payments')).rejects.toThrow(`reads environment variable ${variable}, which is not set`);
    } finally {
      process.env[variable] = saved;
    }
  });

  it('sluice ingest SOURCE (no file) reads the table incrementally from the CLI', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-pgcli-'));
    try {
      expect(sluice(root, 'init', 'proj').code).toBe(0);
      const dir = join(root, 'proj');
      writeFileSync(join(dir, 'sluice.config.ts'), `import { defineProject, entity, batchSource, featureView, count, env, postgresTable } from 'sluice';
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({ name: 'payments', schema: { payment_id: 'int64', account_id: 'string', amount: 'float64', updated_at: 'timestamp' },
  timestamp: 'updated_at', eventId: 'payment_id', connector: postgresTable({ connection: env('${variable}'), table: 'public.payments', cursor: 'updated_at' }) });
export default defineProject({ name: 'cli', entities: [account], sources: [payments], featureViews: [featureView({ name: 'stats', entity: account, source: payments, features: { n: count() } })] });
`);
      expect(sluice(dir, 'apply').code).toBe(0);
      await insert([[1, 'a', 1, '2025-01-01T00:00:00Z'], [2, 'a', 2, '2025-01-01T00:00:01Z']]);
      const first = sluice(dir, 'ingest', 'payments');
      expect(first.stderr).toBe('');
      expect(first.stdout).toContain('ingested the new rows of public.payments into "payments": 2 accepted, 0 rejected');
      expect(sluice(dir, 'ingest', 'payments').stdout).toContain('no new rows for "payments" since the last committed cursor');
      expect(sluice(dir, 'materialize').code).toBe(0);
      await insert([[3, 'a', 3, '2025-01-01T00:00:02Z']]);
      expect(sluice(dir, '--json', 'ingest', 'payments').json()).toMatchObject({ read: 1, accepted: 1 });
      // The ingest applied its rows to the (materialized) online tables, as a file ingest does.
      expect(sluice(dir, '--json', 'get', '--features', 'stats:n', '--entity', 'account_id=a').json()).toMatchObject({ rows: [{ account_id: 'a', stats__n: 3 }] });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
