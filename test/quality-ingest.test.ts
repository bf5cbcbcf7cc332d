import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { allowedValues, batchSource, count, defineProject, entity, featureView, notNull, range, rowCount, schema, sqlCheck, unique } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { dropBatch, releaseBatch } from '../src/quality/quarantine.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-02T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({
  name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' }, timestamp: 'ts',
  checks: [notNull('amount', { severity: 'error' }), range('amount', { min: 0, mostly: 0.5 }), allowedValues('channel', ['web', 'pos', 'atm']),
    unique('txn_id'), rowCount({ min: 1 }), sqlCheck('no_future', 'ts <= now()'), schema()],
});
const spec = defineProject({ name: 'q', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } })] });

let env: Awaited<ReturnType<typeof tempPlatform>> | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

const HEADER = 'txn_id,customer_id,amount,channel,ts';
function file(name: string, rows: string[], header = HEADER): string {
  const path = join(env!.dir, name);
  writeFileSync(path, `${[header, ...rows].join('\n')}\n`);
  return path;
}
const good = ['t1,c1,10.5,web,2024-01-01T10:00:00Z', 't2,c2,3,pos,2024-01-01T11:00:00Z'];
const bad = ['t1,c1,10.5,web,2024-01-01T10:00:00Z', 't2,c2,,pos,2024-01-01T11:00:00Z', 't3,c3,-4,fax,2024-01-01T12:00:00Z'];

describe('checks on batch ingest', () => {
  test('a passing batch commits; results are stored and health conditions are clear', async () => {
    env = await tempPlatform(spec, T0);
    const result = await ingestFile(env.platform, env.project, 'txns', file('good.csv', good));
    expect(result).toMatchObject({ accepted: 2, skipped: false });
    expect(result.checks!.every((c) => c.passed)).toBe(true);
    const latest = await env.platform.metadata.quality.latestResults();
    expect(latest.map((r) => [r.check, r.passed])).toEqual([['amount_not_null', true], ['amount_range', true], ['channel_allowed_values', true], ['no_future', true], ['row_count', true], ['schema', true], ['txn_id_unique', true]]);
    expect(await env.platform.metadata.health.list({ firing: true })).toEqual([]);
  });

  test('warn failures are recorded and alerted, and the batch commits', async () => {
    env = await tempPlatform(spec, T0);
    const result = await ingestFile(env.platform, env.project, 'txns', file('warn.csv', ['t1,c1,10,fax,2024-01-01T10:00:00Z', 't1,c1,-1,web,2024-01-03T10:00:00Z'], `${HEADER},extra`.replace('ts,extra', 'ts')));
    expect(result.accepted).toBe(2);
    expect(result.checks!.filter((c) => !c.passed).map((c) => c.check)).toEqual(['channel_allowed_values', 'txn_id_unique', 'no_future']);
    expect((await env.platform.metadata.latestSnapshot('txns'))!.rowCount).toBe(2);
    const firing = await env.platform.metadata.health.list({ firing: true });
    expect(firing.map((c) => [c.kind, c.subject, c.severity])).toEqual(expect.arrayContaining([
      ['check_failed', 'check:txns/channel_allowed_values', 'warn'], ['check_failed', 'check:txns/txn_id_unique', 'warn'], ['check_failed', 'check:txns/no_future', 'warn'],
    ]));
    // A later passing batch clears them: one resolved alert each.
    env.clock.now += 1000;
    await ingestFile(env.platform, env.project, 'txns', file('good.csv', ['t9,c1,10.5,web,2024-01-01T10:00:00Z']));
    expect(await env.platform.metadata.health.list({ firing: true })).toEqual([]);
    const alerts = await env.platform.metadata.health.listAlerts(100);
    expect(alerts.filter((a) => a.condition.subject === 'check:txns/txn_id_unique').map((a) => a.transition)).toEqual(['resolved', 'fired']);
  });

  test('a schema change upstream (an added column) fails the schema check', async () => {
    env = await tempPlatform(spec, T0);
    const result = await ingestFile(env.platform, env.project, 'txns', file('wide.csv', ['t1,c1,10.5,web,2024-01-01T10:00:00Z,x'], `${HEADER},merchant`));
    expect(result.checks!.find((c) => c.check === 'schema')).toMatchObject({ passed: false, message: 'schema changed: unexpected merchant' });
  });

  test('schema reads what JSONL objects and Parquet files have: an added key, a retyped column', async () => {
    env = await tempPlatform(spec, T0);
    const jsonl = join(env.dir, 'extra.jsonl');
    writeFileSync(jsonl, `${JSON.stringify({ txn_id: 't1', customer_id: 'c1', amount: 1, channel: 'web', ts: '2024-01-01T10:00:00Z', merchant: 'm1' })}\n`);
    expect((await ingestFile(env.platform, env.project, 'txns', jsonl)).checks!.find((c) => c.check === 'schema')).toMatchObject({ passed: false, message: 'schema changed: unexpected merchant' });
    const parquet = join(env.dir, 'retyped.parquet');
    await (await env.platform.engine()).run(`COPY (SELECT 't2' AS txn_id, 'c1' AS customer_id, '1.5' AS amount, 'web' AS channel, TIMESTAMP '2024-01-01 10:00:00' AS ts) TO '${parquet}' (FORMAT PARQUET)`);
    expect((await ingestFile(env.platform, env.project, 'txns', parquet)).checks!.find((c) => c.check === 'schema')).toMatchObject({ passed: false, message: 'schema changed: amount is VARCHAR, expected float64' });
  });

  test('an error check quarantines the batch: nothing committed, run failed naming the checks, rows kept with results', async () => {
    env = await tempPlatform(spec, T0);
    const path = file('bad.csv', bad);
    const error = await ingestFile(env.platform, env.project, 'txns', path).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/^"txns": error check "amount_not_null" \(amount is not null: 1 of 3 rows fail\) failed; the batch \(3 rows of .*bad\.csv\) is quarantined as 1, not committed/);
    expect(await env.platform.metadata.latestSnapshot('txns')).toBeUndefined();
    const [run] = await env.platform.metadata.listRuns(1);
    expect(run).toMatchObject({ job: 'ingest', status: 'failed' });
    const [held] = await env.platform.metadata.quality.listQuarantine({ status: 'held' });
    expect(held).toMatchObject({ id: 1, dataset: 'txns', rows: 3, origin: path, status: 'held' });
    expect(existsSync(join(env.platform.dataDir, held!.file))).toBe(true);
    expect(readdirSync(join(env.platform.dataDir, 'quarantine', 'txns')).sort()).toHaveLength(2);
    expect(held!.results.find((r) => r.check === 'amount_not_null')).toMatchObject({ passed: false, failingRows: 1 });
    const condition = (await env.platform.metadata.health.list({ firing: true })).find((c) => c.subject === 'check:txns/amount_not_null');
    expect(condition).toMatchObject({ severity: 'error', details: { quarantineId: 1 } });
    // The same content again is refused, naming the held batch; --force checks it again (and holds it again).
    await expect(ingestFile(env.platform, env.project, 'txns', path)).rejects.toThrow(`this content is held in quarantine as batch 1 of "txns" (it failed "amount_not_null"); "sluice quarantine release 1" commits it`);
    await expect(ingestFile(env.platform, env.project, 'txns', path, { force: true })).rejects.toThrow('quarantined as 2');
    // mostly 0.5: 1 of 2 non-null amounts is negative, 2 of 3 rows pass.
    expect(held!.results.find((r) => r.check === 'amount_range')).toMatchObject({ passed: true, failingRows: 1 });
  });

  test('release commits the held batch exactly once (idempotent), recorded who and when; the file then counts as ingested', async () => {
    env = await tempPlatform(spec, T0);
    const path = file('bad.csv', bad);
    await expect(ingestFile(env.platform, env.project, 'txns', path)).rejects.toThrow('quarantined as 1');
    env.clock.now += 60_000;
    const first = await releaseBatch(env.platform, 1, 'ana');
    expect(first).toMatchObject({ committed: true, batch: { status: 'released', resolvedBy: 'ana', resolvedAt: T0 + 60_000 } });
    expect(first.snapshot.rowCount).toBe(3);
    const again = await releaseBatch(env.platform, 1, 'bo');
    expect(again).toMatchObject({ committed: false, batch: { resolvedBy: 'ana' } });
    expect(again.snapshot.id).toBe(first.snapshot.id);
    expect(await env.platform.metadata.listSnapshots({ source: 'txns' })).toHaveLength(1);
    const engine = await env.platform.engine();
    const files = first.snapshot.files.map((f) => `'${env!.platform.lake.resolve(f)}'`).join(', ');
    expect(await engine.all(`SELECT txn_id, amount FROM read_parquet([${files}]) ORDER BY _seq`)).toEqual([{ txn_id: 't1', amount: 10.5 }, { txn_id: 't2', amount: null }, { txn_id: 't3', amount: -4 }]);
    expect(await ingestFile(env.platform, env.project, 'txns', path)).toMatchObject({ skipped: true, snapshot: first.snapshot.id });
    expect(existsSync(join(env.platform.dataDir, first.batch.file))).toBe(false);
    await expect(dropBatch(env.platform, 1, 'bo')).rejects.toThrow('quarantined batch 1 was already released by ana');
  });

  test('drop deletes the held batch and records it; it cannot be released after', async () => {
    env = await tempPlatform(spec, T0);
    await expect(ingestFile(env.platform, env.project, 'txns', file('bad.csv', bad))).rejects.toThrow('quarantined as 1');
    const dropped = await dropBatch(env.platform, 1, 'ana');
    expect(dropped).toMatchObject({ status: 'dropped', resolvedBy: 'ana' });
    expect(existsSync(join(env.platform.dataDir, dropped.file))).toBe(false);
    await expect(releaseBatch(env.platform, 1, 'bo')).rejects.toThrow('quarantined batch 1 was dropped by ana');
    expect(await env.platform.metadata.latestSnapshot('txns')).toBeUndefined();
  });

  test('a drop racing a release: exactly one wins, and a dropped batch never reaches the lake', async () => {
    env = await tempPlatform(spec, T0);
    await expect(ingestFile(env.platform, env.project, 'txns', file('bad.csv', bad))).rejects.toThrow('quarantined as 1');
    const [release, drop] = await Promise.allSettled([releaseBatch(env.platform, 1, 'ana'), dropBatch(env.platform, 1, 'bo')]);
    expect([release.status, drop.status].sort()).toEqual(['fulfilled', 'rejected']);
    const [batch] = await env.platform.metadata.quality.listQuarantine();
    const snapshot = await env.platform.metadata.latestSnapshot('txns');
    if (batch!.status === 'dropped') expect(snapshot).toBeUndefined();
    else expect(batch).toMatchObject({ status: 'released', snapshot: snapshot!.id });
  });
  // The check_failed condition named the held batch ("the batch is quarantined as 1"): after its
  // release or drop it kept firing with that untrue message, and kept sluice status unhealthy
  // until another batch happened to pass the check.
  test('release or drop ends the error check conditions that name the batch; a warning stays, and a condition naming a later batch is kept', async () => {
    env = await tempPlatform(spec, T0);
    const firing = async () => Object.fromEntries((await env!.platform.metadata.health.list({ kind: 'check_failed', firing: true })).map((c) => [c.subject, c.message]));
    await expect(ingestFile(env.platform, env.project, 'txns', file('bad.csv', bad))).rejects.toThrow('quarantined as 1');
    expect(Object.keys(await firing()).sort()).toEqual(['check:txns/amount_not_null', 'check:txns/channel_allowed_values']);
    await releaseBatch(env.platform, 1, 'ana');
    expect(await firing()).toEqual({ 'check:txns/channel_allowed_values': expect.stringMatching(/fails/) });
    const [ended] = await env.platform.metadata.health.list({ kind: 'check_failed', firing: false });
    expect(ended).toMatchObject({ subject: 'check:txns/amount_not_null', message: 'check "amount_not_null" on "txns": quarantined batch 1 was released by ana (committed as if its checks had passed)' });

    await expect(ingestFile(env.platform, env.project, 'txns', file('bad2.csv', bad.map((l) => l.replace(/^t/, 'u'))))).rejects.toThrow('quarantined as 2');
    await expect(ingestFile(env.platform, env.project, 'txns', file('bad3.csv', bad.map((l) => l.replace(/^t/, 'v'))))).rejects.toThrow('quarantined as 3');
    await dropBatch(env.platform, 2, 'bo');
    expect((await firing())['check:txns/amount_not_null']).toMatch(/quarantined as 3/);
    await dropBatch(env.platform, 3, 'bo');
    expect((await firing())['check:txns/amount_not_null']).toBeUndefined();
    expect((await env.platform.metadata.health.list({ kind: 'check_failed' })).find((c) => c.subject === 'check:txns/amount_not_null')!.message)
      .toBe('check "amount_not_null" on "txns": quarantined batch 3 was dropped by bo (nothing reached the lake)');
  });
});
