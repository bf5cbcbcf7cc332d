import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, field, sqlTransform, sum, transformOrder, type ProjectSpec } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { checkTransform, runTransform } from '../src/processing/transforms/run-transform.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { applySnapshotOnline } from '../src/streaming/apply-snapshot.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const crm = batchSource({ name: 'crm_accounts', schema: { account_id: 'string', tier: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const invoices = batchSource({ name: 'billing_invoices', schema: { invoice_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const customer360 = sqlTransform({
  name: 'customer_360',
  inputs: [crm, invoices],
  sql: `SELECT a.account_id, a.tier, sum(i.amount) AS billed, count(i.invoice_id) AS invoices, max(i.ts) AS ts
        FROM crm_accounts a JOIN billing_invoices i USING (account_id) GROUP BY ALL`,
  timestamp: 'ts',
  schema: { account_id: 'string', tier: 'string', billed: 'float64', invoices: 'int64', ts: 'timestamp' },
});
// Incremental: a row-by-row filter of an append-only input, with a lookup in another (read whole).
const bigInvoices = sqlTransform({
  name: 'big_invoices', inputs: [invoices, crm], incremental: true,
  sql: 'SELECT i.invoice_id, i.account_id, i.amount * 2 AS doubled, a.tier, i.ts FROM billing_invoices i JOIN crm_accounts a USING (account_id) WHERE amount >= 10',
  timestamp: 'ts', schema: { invoice_id: 'string', account_id: 'string', doubled: 'float64', tier: 'string', ts: 'timestamp' },
});
// Reads another transform: runs after it.
const topTier = sqlTransform({
  name: 'top_tier', inputs: [customer360],
  sql: "SELECT account_id, billed, ts FROM customer_360 WHERE tier = 'gold'",
  timestamp: 'ts', schema: { account_id: 'string', billed: 'float64', ts: 'timestamp' },
});
const billing = featureView({ name: 'billing', entity: account, source: customer360, features: { billed: field('billed'), invoices: field('invoices'), tier: field('tier') } });
const big = featureView({ name: 'big', entity: account, source: bigInvoices, features: { n: count(), total: sum('doubled') } });
const spec = (overrides: Partial<Omit<ProjectSpec, 'kind'>> = {}) =>
  defineProject({ name: 'x', entities: [account], sources: [crm, invoices], featureViews: [billing, big], transforms: [topTier, customer360, bigInvoices], ...overrides });

const NOW = Date.parse('2024-02-01T00:00:00Z');
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(project = spec()) {
  const t = await tempPlatform(project, NOW);
  cleanup.push(t.dispose);
  let files = 0;
  const ingest = async (source: string, text: string) => {
    const path = join(t.dir, `in${files++}.csv`);
    writeFileSync(path, text);
    return ingestFile(t.platform, t.project, source, path);
  };
  await ingest('crm_accounts', 'account_id,tier,ts\na1,gold,2024-01-01T00:00:00Z\na2,silver,2024-01-01T00:00:00Z\n');
  await ingest('billing_invoices', 'invoice_id,account_id,amount,ts\ni1,a1,10.5,2024-01-02T00:00:00Z\ni2,a1,4,2024-01-03T00:00:00Z\ni3,a2,20,2024-01-04T00:00:00Z\n');
  return { ...t, ingest };
}

describe('SQL transforms: derived tables in the lake', () => {
  test('ingest -> transform run -> feature view on the transform -> materialize: online == dataset; lineage recorded', async () => {
    const { platform, project, dir } = await setup();
    const run = await runTransform(platform, project, 'customer_360');
    const crmSnap = await platform.metadata.latestSnapshot('crm_accounts');
    const invSnap = await platform.metadata.latestSnapshot('billing_invoices');
    expect(run).toMatchObject({ transform: 'customer_360', mode: 'full', rows: 2, skipped: false, inputs: { crm_accounts: crmSnap!.id, billing_invoices: invSnap!.id } });
    expect(await platform.metadata.snapshotLineage(run.snapshot!)).toEqual({ transformHash: project.transforms!.find((t) => t.name === 'customer_360')!.hash, mode: 'full', inputs: run.inputs });
    const runs = await platform.metadata.listRuns(10);
    expect(runs[0]).toMatchObject({ job: 'transform', status: 'succeeded', params: { transform: 'customer_360', inputs: run.inputs }, stats: { snapshot: run.snapshot, rows: 2 } });
    // The table carries the lake's system columns, as an ingested source's does.
    const engine = await platform.engine();
    const snapshot = (await platform.metadata.latestSnapshot('customer_360'))!;
    const rows = await engine.all(`SELECT account_id, tier, billed, invoices, epoch_ms(ts) AS ts, _ts, _seq, _known_at FROM read_parquet('${platform.lake.resolve(snapshot.files[0]!)}') ORDER BY account_id`);
    expect(rows).toEqual([
      { account_id: 'a1', tier: 'gold', billed: 14.5, invoices: 2, ts: Date.parse('2024-01-03T00:00:00Z'), _ts: Date.parse('2024-01-03T00:00:00Z'), _seq: 0, _known_at: Date.parse('2024-01-03T00:00:00Z') },
      { account_id: 'a2', tier: 'silver', billed: 20, invoices: 1, ts: Date.parse('2024-01-04T00:00:00Z'), _ts: Date.parse('2024-01-04T00:00:00Z'), _seq: 1, _known_at: Date.parse('2024-01-04T00:00:00Z') },
    ]);
    // Running again over the same input snapshots does nothing.
    expect(await runTransform(platform, project, 'customer_360')).toMatchObject({ skipped: true, snapshot: run.snapshot });

    await materialize(platform, project, { views: ['billing'] });
    const online = await getOnlineFeatures(project, await platform.online(), { entities: { account_id: ['a1', 'a2', 'a3'] }, features: ['billing:billed', 'billing:invoices', 'billing:tier'] }, NOW, await latestSnapshots(platform.metadata, project));
    expect(online.rows).toEqual([
      { account_id: 'a1', billing__billed: 14.5, billing__invoices: 2, billing__tier: 'gold' },
      { account_id: 'a2', billing__billed: 20, billing__invoices: 1, billing__tier: 'silver' },
      { account_id: 'a3', billing__billed: null, billing__invoices: null, billing__tier: null },
    ]);
    const spine = join(dir, 'spine.csv');
    writeFileSync(spine, `account_id,ts\na1,${new Date(NOW).toISOString()}\na2,${new Date(NOW).toISOString()}\na3,${new Date(NOW).toISOString()}\n`);
    const out = join(dir, 'train.parquet');
    const manifest = await buildDataset(platform, project, { spine, out, features: ['billing:billed', 'billing:invoices', 'billing:tier'] });
    expect(manifest.snapshots).toMatchObject({ customer_360: run.snapshot });
    const dataset = await engine.all(`SELECT account_id, billing__billed, billing__invoices, billing__tier FROM read_parquet('${out}') ORDER BY account_id`);
    expect(dataset).toEqual(online.rows);
  });

  test('a full refresh replaces the table: the online table is not patched (STALE until materialize), then serves the new values', async () => {
    const { platform, project, ingest } = await setup();
    await runTransform(platform, project, 'customer_360');
    await materialize(platform, project, { views: ['billing'] });
    await ingest('billing_invoices', 'invoice_id,account_id,amount,ts\ni4,a1,100,2024-01-05T00:00:00Z\n');
    const second = await runTransform(platform, project, 'customer_360');
    const snapshot = (await platform.metadata.snapshot(second.snapshot!))!;
    expect(snapshot.files).toHaveLength(1);
    expect(snapshot.rowCount).toBe(2);
    const source = project.sources.find((s) => s.name === 'customer_360')!;
    expect(await applySnapshotOnline(platform, project, source, snapshot)).toEqual({ applied: [], skipped: [{ view: 'billing', reason: "the snapshot replaces the table's files rather than adding to them" }] });
    const ask = async () => getOnlineFeatures(project, await platform.online(), { entities: { account_id: ['a1'] }, features: ['billing:billed'] }, NOW, await latestSnapshots(platform.metadata, project));
    expect((await ask()).views.billing).toMatchObject({ status: 'STALE' });
    await materialize(platform, project, { views: ['billing'] });
    expect((await ask()).rows).toEqual([{ account_id: 'a1', billing__billed: 114.5 }]);
  });

  test('incremental: a run reads only input rows added since the last run and appends; the online table takes the appended rows', async () => {
    const { platform, project, ingest } = await setup();
    const first = await runTransform(platform, project, 'big_invoices');
    expect(first).toMatchObject({ mode: 'full', rows: 2, note: 'first run' });
    await materialize(platform, project, { views: ['big'] });
    await ingest('billing_invoices', 'invoice_id,account_id,amount,ts\ni4,a1,100,2024-01-05T00:00:00Z\ni5,a2,1,2024-01-06T00:00:00Z\n');
    const second = await runTransform(platform, project, 'big_invoices');
    expect(second).toMatchObject({ mode: 'incremental', rows: 1, skipped: false });
    const snapshot = (await platform.metadata.snapshot(second.snapshot!))!;
    expect(snapshot).toMatchObject({ rowCount: 3, addedRows: 1, parentId: first.snapshot });
    expect(snapshot.files.slice(0, 1)).toEqual((await platform.metadata.snapshot(first.snapshot!))!.files);
    const engine = await platform.engine();
    const rows = await engine.all(`SELECT invoice_id, doubled, tier, _seq FROM read_parquet([${snapshot.files.map((f) => `'${platform.lake.resolve(f)}'`).join(', ')}]) ORDER BY _seq`);
    expect(rows).toEqual([{ invoice_id: 'i1', doubled: 21, tier: 'gold', _seq: 0 }, { invoice_id: 'i3', doubled: 40, tier: 'silver', _seq: 1 }, { invoice_id: 'i4', doubled: 200, tier: 'gold', _seq: 2 }]);
    // A changed lookup alone appends nothing (no new rows of the first input) and records the new lineage.
    await ingest('crm_accounts', 'account_id,tier,ts\na3,bronze,2024-01-07T00:00:00Z\n');
    const lookup = await runTransform(platform, project, 'big_invoices');
    expect(lookup).toMatchObject({ mode: 'incremental', rows: 0, skipped: false, inputs: { crm_accounts: (await platform.metadata.latestSnapshot('crm_accounts'))!.id } });
    expect((await platform.metadata.snapshot(lookup.snapshot!))!.files).toEqual(snapshot.files);
    const source = project.sources.find((s) => s.name === 'big_invoices')!;
    expect((await applySnapshotOnline(platform, project, source, snapshot)).applied).toEqual(['big']);
    expect((await applySnapshotOnline(platform, project, source, (await platform.metadata.snapshot(lookup.snapshot!))!)).applied).toEqual(['big']);
    const online = await getOnlineFeatures(project, await platform.online(), { entities: { account_id: ['a1', 'a2'] }, features: ['big:n', 'big:total'] }, NOW, await latestSnapshots(platform.metadata, project));
    expect(online.rows).toEqual([{ account_id: 'a1', big__n: 2, big__total: 221 }, { account_id: 'a2', big__n: 1, big__total: 40 }]);
    // A changed definition is computed in full again.
    const edited = spec({ transforms: [topTier, customer360, sqlTransform({ ...bigInvoices, sql: bigInvoices.sql.replace('>= 10', '>= 1') })] });
    expect(await runTransform(platform, compileProject(edited), 'big_invoices')).toMatchObject({ mode: 'full', rows: 5, note: 'the definition changed since the last run' });
  });

  test('--all order: inputs first; a transform reading a transform sees its fresh output', async () => {
    const { platform, project } = await setup();
    const order = transformOrder(project).map((t) => t.name);
    expect(order).toEqual(['customer_360', 'top_tier', 'big_invoices']);
    for (const name of order) await runTransform(platform, project, name);
    const top = (await platform.metadata.latestSnapshot('top_tier'))!;
    expect((await platform.metadata.snapshotLineage(top.id))!.inputs).toEqual({ customer_360: (await platform.metadata.latestSnapshot('customer_360'))!.id });
    const engine = await platform.engine();
    expect(await engine.all(`SELECT account_id, billed FROM read_parquet('${platform.lake.resolve(top.files[0]!)}')`)).toEqual([{ account_id: 'a1', billed: 14.5 }]);
  });

  test('a run reading a transform that is behind its own inputs (or never ran) says so, instead of reading it silently', async () => {
    const { platform, project, ingest } = await setup();
    expect(await runTransform(platform, project, 'top_tier')).toMatchObject({ rows: 0, behind: ['customer_360'] });
    await runTransform(platform, project, 'customer_360');
    expect((await runTransform(platform, project, 'top_tier')).behind).toBeUndefined();
    await ingest('billing_invoices', 'invoice_id,account_id,amount,ts\ni9,a1,1,2024-01-05T00:00:00Z\n');
    // top_tier is up to date with customer_360's table, but that table is behind billing_invoices.
    expect(await runTransform(platform, project, 'top_tier')).toMatchObject({ skipped: true, behind: ['customer_360'] });
  });

  test('the same inputs give the same table: a sum of floats over many rows is equal to the last bit, run after run', async () => {
    // With DuckDB's threads the partial sums were added in a different order on each run: the
    // table differed in the last digits (and first() picked another row) from the same snapshots.
    const same = (name: string) => sqlTransform({ name, inputs: [invoices], sql: 'SELECT account_id, sum(amount) AS total, first(invoice_id) AS first_id, max(ts) AS ts FROM billing_invoices GROUP BY account_id', timestamp: 'ts', schema: { account_id: 'string', total: 'float64', first_id: 'string', ts: 'timestamp' } });
    const { platform, project, ingest } = await setup(spec({ featureViews: [], transforms: [same('t1'), same('t2')] }));
    const rows = Array.from({ length: 400_000 }, (_, i) => `i${i},a${i % 3},${(i * 0.1 + (i % 7) * 1e-7).toFixed(7)},2024-01-0${1 + (i % 9)}T00:00:00Z`);
    await ingest('billing_invoices', `invoice_id,account_id,amount,ts\n${rows.join('\n')}\n`);
    const engine = await platform.engine();
    const table = async (name: string) => {
      await runTransform(platform, project, name);
      const files = (await platform.metadata.latestSnapshot(name))!.files.map((f) => `'${platform.lake.resolve(f)}'`).join(', ');
      return engine.all(`SELECT account_id, total::VARCHAR AS total, first_id FROM read_parquet([${files}]) ORDER BY account_id`);
    };
    expect(await table('t2')).toEqual(await table('t1'));
  });

  test('ingest and push refuse a transform\'s table; the stream runtime does not treat it as streamed', async () => {
    const { platform, project, dir } = await setup();
    writeFileSync(join(dir, 'x.csv'), 'account_id\na1\n');
    await expect(ingestFile(platform, project, 'customer_360', join(dir, 'x.csv'))).rejects.toThrow('"customer_360" is a transform: its table is written only by "sluice transform run customer_360"; ingest into one of its inputs (crm_accounts, billing_invoices)');
    const runtime = await startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000 });
    try {
      expect(() => runtime.processor.append('customer_360', { texts: ['{}'] }, 'push')).toThrow('"customer_360" is a transform: its table is written only by "sluice transform run customer_360"; push events to one of its inputs');
      expect(runtime.status()).toEqual([]);
    } finally {
      await runtime.close();
    }
  });
});

describe('the declared schema is checked against the query, at plan and at run time', () => {
  const withTransform = (changes: Partial<Parameters<typeof sqlTransform>[0]>) =>
    spec({ featureViews: [], transforms: [sqlTransform({ name: 't', inputs: [invoices], sql: 'SELECT account_id, amount, ts FROM billing_invoices', timestamp: 'ts', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, ...changes })] });
  const check = async (project: ProjectSpec) => {
    const { platform, project: compiled } = await setup(project);
    const engine = await platform.newEngine(1, { sandbox: { allowedPaths: [] } });
    try {
      await checkTransform(engine, compiled, compiled.transforms![0]!);
    } finally {
      await engine.close();
    }
  };
  test('a matching schema passes', async () => {
    await expect(check(withTransform({}))).resolves.toBeUndefined();
  });
  test('missing, extra and wrong-type columns are named', async () => {
    await expect(check(withTransform({ schema: { account_id: 'string', amount: 'float64', region: 'string', ts: 'timestamp' } }))).rejects.toThrow('transform "t": its query does not give the declared schema: column "region" is declared (string) but missing from the query\'s result');
    await expect(check(withTransform({ sql: 'SELECT account_id, amount, invoice_id, ts FROM billing_invoices' }))).rejects.toThrow('column "invoice_id" (VARCHAR) is in the query\'s result but not declared; add it to the schema or leave it out of the SELECT');
    await expect(check(withTransform({ schema: { account_id: 'string', amount: 'int64', ts: 'timestamp' } }))).rejects.toThrow('column "amount" is DOUBLE in the query\'s result but declared int64; cast it in the SQL (CAST(... AS BIGINT))');
    await expect(check(withTransform({ sql: 'SELECT account_id, 1.5 AS amount, ts FROM billing_invoices' }))).rejects.toThrow('column "amount" is DECIMAL(2,1) in the query\'s result but declared float64');
  });
  test('SQL that does not bind over its inputs names the problem', async () => {
    await expect(check(withTransform({ sql: 'SELECT account_id, amout AS amount, ts FROM billing_invoices' }))).rejects.toThrow(/transform "t": its SQL does not bind over its inputs: .*amout/);
    await expect(check(withTransform({ sql: 'SELEC 1' }))).rejects.toThrow('transform "t": its SQL does not parse: syntax error at or near "SELEC"');
  });
  test('at run time too: a result whose rows the lake cannot hold (null event time) commits nothing', async () => {
    const { platform, project } = await setup(withTransform({ sql: 'SELECT account_id, amount, CASE WHEN amount > 5 THEN ts END AS ts FROM billing_invoices' }));
    await expect(runTransform(platform, project, 't')).rejects.toThrow('transform "t": its result has 1 row(s) with a null timestamp "ts"; filter or fix them in its SQL (nothing was committed)');
    expect(await platform.metadata.latestSnapshot('t')).toBeUndefined();
    expect((await platform.metadata.listRuns(1))[0]).toMatchObject({ job: 'transform', status: 'failed' });
  });
  test('a run that does not end (a recursive CTE without a stop) is interrupted at its time limit: nothing committed, the lease released', async () => {
    const { platform, project } = await setup(withTransform({ sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT \'a\' AS account_id, n::DOUBLE AS amount, TIMESTAMP \'2024-01-01\' AS ts FROM r' }));
    await expect(runTransform(platform, project, 't', { timeoutMs: 500 })).rejects.toThrow('transform "t": its run did not finish within its time limit (500ms) and was stopped; nothing was committed');
    expect(await platform.metadata.latestSnapshot('t')).toBeUndefined();
    expect((await platform.metadata.listRuns(1))[0]).toMatchObject({ job: 'transform', status: 'failed' });
    // The lease was released: the next run starts at once (and is stopped the same way).
    await expect(runTransform(platform, project, 't', { timeoutMs: 500 })).rejects.toThrow('did not finish within its time limit');
  });
});
