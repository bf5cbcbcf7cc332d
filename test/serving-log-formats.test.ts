import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { defineProject, entity, batchSource, featureService, featureView, field, sum } from '../src/definitions/index.js';
import { readServingLog, servedRowsSql, servedStatusSql, servingLogFile, servingLogWriter } from '../src/observability/serving-log/index.js';
import { purgeServingLog } from '../src/compliance/purge/purge-serving-log.js';
import type { OnlineFeaturesResponse } from '../src/serving/online-features.js';
import { appendServedRows, servedRowsOf } from './support/serving-log.js';
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

/** One hour file holding rows of the format written before the lean one (a whole row a line), then lean lines of the same answers. */
async function mixedLog(): Promise<{ old: ReturnType<typeof servedRowsOf>; lean: ReturnType<typeof servedRowsOf> }> {
  const old = servedRowsOf(answer(['c0', 'c1', 'c2'], T0), 'scoring', ['customer_id'], T0);
  appendServedRows(env.platform.dataDir, old);
  const log = servingLogWriter({ dataDir: env.platform.dataDir });
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c0', 'c1', 'c2'], T0 + 5), 'lean-1', T0 + 10);
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c3'], T0 + 20), 'lean-2', T0 + 30);
  await log.close();
  const lean = [
    ...servedRowsOf(answer(['c0', 'c1', 'c2'], T0 + 5), 'scoring', ['customer_id'], T0 + 10).map((r) => ({ ...r, requestId: 'lean-1' })),
    ...servedRowsOf(answer(['c3'], T0 + 20), 'scoring', ['customer_id'], T0 + 30).map((r) => ({ ...r, requestId: 'lean-2' })),
  ];
  return { old, lean };
}

test('a log written before the lean format is still read, alone or followed by lean lines in the same file, by the JS reader and by DuckDB', async () => {
  const { old, lean } = await mixedLog();
  const lines = readFileSync(servingLogFile(env.platform.dataDir, 'scoring', T0), 'utf8').trimEnd().split('\n');
  // 3 whole rows, then a request line and its 3 row lines, a request line and its row line.
  expect(lines).toHaveLength(3 + 4 + 2);
  expect(Buffer.byteLength(lines[4]!)).toBeLessThan(Buffer.byteLength(lines[0]!) * 0.75);
  expect(await readServingLog(env.platform.dataDir)).toEqual([...old, ...lean]);
  expect(await readServingLog(env.platform.dataDir, { since: T0 + 10, until: T0 + 30 })).toEqual(lean.slice(0, 3));

  const engine = await env.platform.engine();
  const read = await engine.all<Record<string, unknown>>(`SELECT json_extract_string(json, '$.entityKey') AS k, TRY_CAST(json_extract(json, '$.servedAt') AS BIGINT) AS t,
    json_extract_string(json, '$.values."stats__total"') AS total, ${servedStatusSql('stats__total')} AS total_status, ${servedStatusSql('stats__tier')} AS tier_status,
    ${servedStatusSql('stats__missing')} AS missing FROM ${servedRowsSql([servingLogFile(env.platform.dataDir, 'scoring', T0)])} ORDER BY t, k`);
  expect(read.map((r) => [r.k, Number(r.t) - T0, r.total, r.total_status, r.tier_status, r.missing])).toEqual([
    ['c0', 0, '10', 'PRESENT', 'PRESENT', null], ['c1', 0, null, 'NULL', 'PRESENT', null], ['c2', 0, '12', 'PRESENT', 'NOT_MATERIALIZED', null],
    ['c0', 10, '10', 'PRESENT', 'PRESENT', null], ['c1', 10, null, 'NULL', 'PRESENT', null], ['c2', 10, '12', 'PRESENT', 'NOT_MATERIALIZED', null],
    ['c3', 30, '10', 'PRESENT', 'PRESENT', null],
  ]);
});

test('erasing a key removes its rows of both formats; a request line goes with its last row; a cutoff reads views from request lines', async () => {
  const { old, lean } = await mixedLog();
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const erase = await purgeServingLog(env.platform, { row: (row) => row.entityKey === 'c1' || row.entityKey === 'c3', torn: () => false }, false);
  expect(erase).toMatchObject({ rows: 3, filesRewritten: ['scoring/2024-03-01T10.jsonl'] });
  const left = readFileSync(file, 'utf8');
  expect(left).not.toContain('"c1"');
  expect(left).not.toContain('"c3"');
  expect(left).not.toContain('lean-2');
  expect(await readServingLog(env.platform.dataDir)).toEqual([old[0], old[2], lean[0], lean[2]]);

  const retention = await purgeServingLog(env.platform, { row: (row) => row.servedAt < T0 + 10 && 'stats' in row.views, torn: () => false }, false);
  expect(retention.rows).toBe(2);
  expect(await readServingLog(env.platform.dataDir)).toEqual([lean[0], lean[2]]);
});

test('a lean row line whose request line is not before it is unreadable, skipped and counted, never given another request\'s parts', async () => {
  const log = servingLogWriter({ dataDir: env.platform.dataDir });
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c0', 'c1'], T0), 'r1', T0);
  await log.close();
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  writeFileSync(file, `${lines[1]}\n${lines[0]}\n${lines[2]}\n`);
  expect((await readServingLog(env.platform.dataDir)).map((r) => r.entityKey)).toEqual(['c1']);
});
