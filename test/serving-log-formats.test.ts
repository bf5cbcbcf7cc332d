import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { defineProject, entity, batchSource, featureService, featureView, field, sum } from '../src/definitions/index.js';
import { readServingLog, servedRowBatches, servedRowsSql, servedStatusSql, servedValueSql, servingLogFile, servingLogWriter, type ServedRow } from '../src/observability/serving-log/index.js';
import { purgeServingLog } from '../src/compliance/purge/purge-serving-log.js';
import type { OnlineFeaturesResponse } from '../src/serving/online-features.js';
import { appendServedRows, leanLines, servedRowsOf } from './support/serving-log.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-03-01T10:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', tier: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { total: sum('amount'), tier: field('tier') } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats], featureServices: [featureService({ name: 'scoring', features: [stats], log: { sampleRate: 1 } })] });

/** An answer for `keys`, with statuses that are not all one (what drift and skew read). */
function answer(keys: readonly string[], asOf: number): OnlineFeaturesResponse {
  return {
    asOf: new Date(asOf).toISOString(), features: ['stats__total', 'stats__tier'], stale: 0,
    rows: keys.map((k, i) => ({ customer_id: k, stats__total: i === 1 ? null : 10 + i, stats__tier: i === 2 ? null : `t${i}` })),
    metadata: keys.map((_k, i) => ({ status: [i === 1 ? 'NULL' : 'PRESENT', i === 2 ? 'NOT_MATERIALIZED' : 'PRESENT'], ageMs: [0, 0] })),
    views: { stats: { status: 'FRESH', viewHash: 'h1', previousDefinition: false, materializedAt: null, snapshots: { txns: 'txns@1' } } },
  };
}

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
});
afterEach(async () => env.dispose());

/** One hour file holding rows of the three formats in turn: whole rows (the first format), lean lines, then compact lines of the same answers. */
async function mixedLog(): Promise<{ old: ServedRow[]; lean: ServedRow[]; compact: ServedRow[] }> {
  const old = servedRowsOf(answer(['c0', 'c1', 'c2'], T0), 'scoring', ['customer_id'], T0);
  appendServedRows(env.platform.dataDir, old);
  const lean = [
    ...servedRowsOf(answer(['c0', 'c1', 'c2'], T0 + 1), 'scoring', ['customer_id'], T0 + 2).map((r) => ({ ...r, requestId: 'lean-1' })),
    ...servedRowsOf(answer(['c3'], T0 + 3), 'scoring', ['customer_id'], T0 + 4).map((r) => ({ ...r, requestId: 'lean-2' })),
  ];
  appendFileSync(servingLogFile(env.platform.dataDir, 'scoring', T0), leanLines(lean.slice(0, 3)) + leanLines(lean.slice(3)));
  const log = servingLogWriter({ dataDir: env.platform.dataDir });
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c0', 'c1', 'c2'], T0 + 5), 'compact-1', T0 + 10);
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c3'], T0 + 20), 'compact-2', T0 + 30);
  await log.close();
  const compact = [
    ...servedRowsOf(answer(['c0', 'c1', 'c2'], T0 + 5), 'scoring', ['customer_id'], T0 + 10).map((r) => ({ ...r, requestId: 'compact-1' })),
    ...servedRowsOf(answer(['c3'], T0 + 20), 'scoring', ['customer_id'], T0 + 30).map((r) => ({ ...r, requestId: 'compact-2' })),
  ];
  return { old, lean, compact };
}

test('a file holding whole rows, lean lines and compact lines is read alike by the JS reader and by DuckDB (values and statuses by name)', async () => {
  const { old, lean, compact } = await mixedLog();
  const lines = readFileSync(servingLogFile(env.platform.dataDir, 'scoring', T0), 'utf8').trimEnd().split('\n');
  // 3 whole rows; lean: a request line and its 3 row lines, a request line and its row line;
  // compact: the names line, a request line and its 3 row lines, a request line and its row line.
  expect(lines).toHaveLength(3 + 6 + 1 + 6);
  expect(JSON.parse(lines[9]!)).toEqual({ columns: expect.any(String) as unknown, names: ['stats__total', 'stats__tier'] });
  expect(Buffer.byteLength(lines[5]!)).toBeLessThan(Buffer.byteLength(lines[0]!) * 0.75);
  // A compact row whose statuses are those its values imply (PRESENT for a value, NULL for null) has no `status`; one with another keeps its letters.
  // Since 2026-11-30 a row line leaves its request's id to the request line just before its rows,
  // and (one join key, the entity key's text) its `keys` to the request line's `joinKeys`.
  expect(JSON.parse(lines[10]!)).toMatchObject({ requestId: 'compact-1', joinKeys: ['customer_id'] });
  expect(JSON.parse(lines[11]!)).toEqual({ servedAt: T0 + 10, entityKey: 'c0', columns: expect.any(String) as unknown, values: [10, 't0'] });
  expect(JSON.parse(lines[12]!)).not.toHaveProperty('status');
  expect(JSON.parse(lines[13]!)).toMatchObject({ entityKey: 'c2', values: [12, null], status: 'PM' });
  expect(await readServingLog(env.platform.dataDir)).toEqual([...old, ...lean, ...compact]);
  expect(await readServingLog(env.platform.dataDir, { since: T0 + 4, until: T0 + 30 })).toEqual([lean[3], ...compact.slice(0, 3)]);

  const engine = await env.platform.engine();
  const read = await engine.all<Record<string, unknown>>(`SELECT json_extract_string(json, '$.entityKey') AS k, TRY_CAST(json_extract(json, '$.servedAt') AS BIGINT) AS t,
    ${servedValueSql('stats__total')} AS total, ${servedValueSql('stats__tier')} AS tier, ${servedValueSql('stats__missing')} AS missing_value,
    ${servedStatusSql('stats__total')} AS total_status, ${servedStatusSql('stats__tier')} AS tier_status,
    ${servedStatusSql('stats__missing')} AS missing FROM ${servedRowsSql([servingLogFile(env.platform.dataDir, 'scoring', T0)])} ORDER BY t, k`);
  const expected = (t: number, first: number) => [
    ['c0', t, String(first), 't0', null, 'PRESENT', 'PRESENT', null], ['c1', t, null, 't1', null, 'NULL', 'PRESENT', null], ['c2', t, String(first + 2), null, null, 'PRESENT', 'NOT_MATERIALIZED', null],
  ];
  expect(read.map((r) => [r.k, Number(r.t) - T0, r.total, r.tier, r.missing_value, r.total_status, r.tier_status, r.missing])).toEqual([
    ...expected(0, 10), ...expected(2, 10), ['c3', 4, '10', 't0', null, 'PRESENT', 'PRESENT', null],
    ...expected(10, 10), ['c3', 30, '10', 't0', null, 'PRESENT', 'PRESENT', null],
  ]);
  // Set-based: the files are read by one scan (its operator's title and function name), kept for the
  // names lines, and the names joined to the rows by id with a hash join: no per-row lookup.
  const plan = (await engine.all<Record<string, unknown>>(`EXPLAIN SELECT ${servedValueSql('stats__total')} FROM ${servedRowsSql([servingLogFile(env.platform.dataDir, 'scoring', T0)])}`)).map((r) => String(r.explain_value)).join('\n');
  expect(plan.match(/READ_NDJSON_OBJECTS/g)).toHaveLength(2);
  expect(plan).toMatch(/CTE_SCAN/);
  expect(plan).toMatch(/HASH_JOIN/);
});

test('erasing a key removes its rows of every format; a request line goes with its last row, a names line with the last row that refers to it', async () => {
  const { old, lean, compact } = await mixedLog();
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const erase = await purgeServingLog(env.platform, { row: (row) => row.entityKey === 'c1' || row.entityKey === 'c3', torn: () => false }, false);
  expect(erase).toMatchObject({ rows: 5, filesRewritten: ['scoring/2024-03-01T10.jsonl'] });
  const left = readFileSync(file, 'utf8');
  expect(left).not.toContain('"c1"');
  expect(left).not.toContain('"c3"');
  expect(left).not.toContain('lean-2');
  expect(left).not.toContain('compact-2');
  expect(left).toContain('"names":["stats__total","stats__tier"]');
  expect(await readServingLog(env.platform.dataDir)).toEqual([old[0], old[2], lean[0], lean[2], compact[0], compact[2]]);

  const retention = await purgeServingLog(env.platform, { row: (row) => row.servedAt < T0 + 10 && 'stats' in row.views, torn: () => false }, false);
  expect(retention.rows).toBe(4);
  expect(await readServingLog(env.platform.dataDir)).toEqual([compact[0], compact[2]]);
  // The compact rows gone too: their names line goes with them.
  await purgeServingLog(env.platform, { row: () => true, torn: () => false }, false);
  expect(readFileSync(file, 'utf8')).toBe('');
});

test('a row line whose request line, or whose names line, is not before it is unreadable, skipped and counted, never given another line\'s parts', async () => {
  const log = servingLogWriter({ dataDir: env.platform.dataDir });
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c0', 'c1'], T0), 'r1', T0);
  await log.close();
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const [names, request, c0, c1] = readFileSync(file, 'utf8').trimEnd().split('\n');
  writeFileSync(file, `${names}\n${c0}\n${request}\n${c1}\n`);
  expect((await readServingLog(env.platform.dataDir)).map((r) => r.entityKey)).toEqual(['c1']);
  // A row line without `requestId` is its request's only directly after the request line and its other rows: a names line between ends the request.
  writeFileSync(file, `${request}\n${c0}\n${names}\n${c1}\n`);
  expect((await readServingLog(env.platform.dataDir)).map((r) => r.entityKey)).toEqual([]);
  const withId = (line: string) => line.replace('{"servedAt":', '{"requestId":"r1","servedAt":');
  writeFileSync(file, `${request}\n${withId(c0!)}\n${names}\n${withId(c1!)}\n`);
  expect((await readServingLog(env.platform.dataDir)).map((r) => r.entityKey)).toEqual(['c1']);
  // Names of another length than the values: unreadable, not read by the wrong names.
  writeFileSync(file, `${names!.replace('"stats__tier"]', '"stats__tier","stats__x"]')}\n${request}\n${c0}\n`);
  let unreadable = 0;
  for await (const batch of servedRowBatches(env.platform.dataDir)) unreadable += batch.unreadable;
  expect(unreadable).toBe(1);
});

test('compact row lines with `requestId` (written 2026-11-29) are read by their id, those without by the request line before them; both readers skip a torn last line', async () => {
  const log = servingLogWriter({ dataDir: env.platform.dataDir });
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c0', 'c1'], T0), 'r1', T0);
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c2'], T0 + 1), 'r2', T0 + 1);
  await log.close();
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const [names, request1, c0, c1, request2, c2] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const rows = await readServingLog(env.platform.dataDir);
  expect(rows.map((r) => [r.requestId, r.entityKey, r.servedAt - T0, r.asOf])).toEqual([
    ['r1', 'c0', 0, new Date(T0).toISOString()], ['r1', 'c1', 0, new Date(T0).toISOString()], ['r2', 'c2', 1, new Date(T0 + 1).toISOString()],
  ]);
  // The earlier layout: both request lines first, then rows that name their request.
  const withId = (line: string, id: string) => line.replace('{"servedAt":', `{"requestId":"${id}","servedAt":`);
  writeFileSync(file, `${names}\n${request1}\n${request2}\n${withId(c0!, 'r1')}\n${withId(c2!, 'r2')}\n${withId(c1!, 'r1')}\n`);
  expect(await readServingLog(env.platform.dataDir)).toEqual([rows[0], rows[2], rows[1]]);
  // Without ids the same layout is not guessed: a row whose `servedAt` is not its request line's is unreadable.
  writeFileSync(file, `${names}\n${request1}\n${request2}\n${c0}\n${c2}\n`);
  expect((await readServingLog(env.platform.dataDir)).map((r) => r.entityKey)).toEqual(['c2']);
  // A torn last line (a crash mid-append) is skipped by the JS reader and by DuckDB, and the next append's rows read again.
  writeFileSync(file, `${names}\n${request1}\n${c0}\n${c1!.slice(0, 30)}\n${names}\n${request2}\n${c2}\n`);
  expect(await readServingLog(env.platform.dataDir)).toEqual([rows[0], rows[2]]);
  const engine = await env.platform.engine();
  const read = await engine.all<Record<string, unknown>>(`SELECT json_extract_string(json, '$.entityKey') AS k, ${servedValueSql('stats__total')} AS total FROM ${servedRowsSql([file])} ORDER BY k`);
  expect(read.map((r) => [r.k, r.total])).toEqual([['c0', '10'], ['c2', '10']]);
});
