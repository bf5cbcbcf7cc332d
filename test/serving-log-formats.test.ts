import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { defineProject, entity, batchSource, featureService, featureView, field, sum } from '../src/definitions/index.js';
import { readServingLog, servedAtSql, servedEntityKeySql, servedRowBatches, servedRowsSql, servedStatusSql, servedValueSql, servingLogFile, servingLogWriter, type ServedRow } from '../src/observability/serving-log/index.js';
import { erasedSubjects } from '../src/compliance/erasure/erased-subjects.js';
import { erasureHash } from '../src/compliance/erasure/erasure-hash.js';
import { projectSecret } from '../src/compliance/project-secret.js';
import { purgeServingLog } from '../src/compliance/purge/purge-serving-log.js';
import type { OnlineFeaturesResponse } from '../src/serving/online-features.js';
import { appendServedRows, compactRowLines, leanLines, servedRowsOf } from './support/serving-log.js';
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

/** Records the answers with the writer, as the compact lines written before 2026-11-30 (17) (`compact`) or as the writer writes them now. */
async function written(answers: readonly (readonly [OnlineFeaturesResponse, string, number])[], compact: boolean): Promise<void> {
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  mkdirSync(dirname(file), { recursive: true });
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const log = servingLogWriter({ dataDir: env.platform.dataDir });
  for (const [response, id, at] of answers) log.record(env.project, { entities: {}, service: 'scoring' }, response, id, at);
  await log.close();
  if (compact) writeFileSync(file, before + compactRowLines(readFileSync(file, 'utf8').slice(before.length)));
}

/** One hour file holding rows of the four formats in turn: whole rows (the first format), lean lines, compact row lines, then request lines holding their rows, of the same answers. */
async function mixedLog(): Promise<{ old: ServedRow[]; lean: ServedRow[]; compact: ServedRow[]; rows: ServedRow[] }> {
  const old = servedRowsOf(answer(['c0', 'c1', 'c2'], T0), 'scoring', ['customer_id'], T0);
  appendServedRows(env.platform.dataDir, old);
  const lean = [
    ...servedRowsOf(answer(['c0', 'c1', 'c2'], T0 + 1), 'scoring', ['customer_id'], T0 + 2).map((r) => ({ ...r, requestId: 'lean-1' })),
    ...servedRowsOf(answer(['c3'], T0 + 3), 'scoring', ['customer_id'], T0 + 4).map((r) => ({ ...r, requestId: 'lean-2' })),
  ];
  appendFileSync(servingLogFile(env.platform.dataDir, 'scoring', T0), leanLines(lean.slice(0, 3)) + leanLines(lean.slice(3)));
  const inFormat = async (name: string, t: number, compact: boolean) => {
    await written([[answer(['c0', 'c1', 'c2'], t + 5), `${name}-1`, t + 10], [answer(['c3'], t + 20), `${name}-2`, t + 30]], compact);
    return [
      ...servedRowsOf(answer(['c0', 'c1', 'c2'], t + 5), 'scoring', ['customer_id'], t + 10).map((r) => ({ ...r, requestId: `${name}-1` })),
      ...servedRowsOf(answer(['c3'], t + 20), 'scoring', ['customer_id'], t + 30).map((r) => ({ ...r, requestId: `${name}-2` })),
    ];
  };
  const compact = await inFormat('compact', T0, true);
  const rows = await inFormat('rows', T0 + 100, false);
  return { old, lean, compact, rows };
}

test('a file holding whole rows, lean lines, compact row lines and request lines holding their rows is read alike by the JS reader and by DuckDB (values and statuses by name)', async () => {
  const { old, lean, compact, rows } = await mixedLog();
  const lines = readFileSync(servingLogFile(env.platform.dataDir, 'scoring', T0), 'utf8').trimEnd().split('\n');
  // 3 whole rows; lean: a request line and its 3 row lines, a request line and its row line;
  // compact: the names line, a request line and its 3 row lines, a request line and its row line;
  // now: the names line and a request line per request, holding its rows.
  expect(lines).toHaveLength(3 + 6 + 1 + 6 + 1 + 2);
  expect(JSON.parse(lines[9]!)).toEqual({ columns: expect.any(String) as unknown, names: ['stats__total', 'stats__tier'] });
  expect(Buffer.byteLength(lines[5]!)).toBeLessThan(Buffer.byteLength(lines[0]!) * 0.75);
  expect(JSON.parse(lines[10]!)).toMatchObject({ requestId: 'compact-1', joinKeys: ['customer_id'] });
  expect(JSON.parse(lines[11]!)).toEqual({ servedAt: T0 + 10, entityKey: 'c0', columns: expect.any(String) as unknown, values: [10, 't0'] });
  expect(JSON.parse(lines[13]!)).toMatchObject({ entityKey: 'c2', values: [12, null], status: 'PM' });
  expect(lines[16]).toBe(lines[9]);
  // A request line holds its rows: `[entityKey, values]`, the status letters only where one is not the one its value implies
  // (PRESENT for a value, NULL for null), the keys left out (one join key, the entity key's text: the line's `joinKeys` names it).
  expect(JSON.parse(lines[17]!)).toEqual({
    requestId: 'rows-1', service: 'scoring', joinKeys: ['customer_id'], asOf: new Date(T0 + 105).toISOString(), servedAt: T0 + 110,
    views: { stats: { definitionHash: 'h1', snapshots: { txns: 'txns@1' } } }, columns: JSON.parse(lines[9]!).columns as unknown,
    rows: [['c0', [10, 't0']], ['c1', [null, 't1']], ['c2', [12, null], 'PM']],
  });
  expect(JSON.parse(lines[18]!)).toMatchObject({ requestId: 'rows-2', rows: [['c3', [10, 't0']]] });
  expect(await readServingLog(env.platform.dataDir)).toEqual([...old, ...lean, ...compact, ...rows]);
  expect(await readServingLog(env.platform.dataDir, { since: T0 + 4, until: T0 + 111 })).toEqual([lean[3], ...compact, ...rows.slice(0, 3)]);

  const engine = await env.platform.engine();
  const read = await engine.all<Record<string, unknown>>(`SELECT ${servedEntityKeySql} AS k, ${servedAtSql} AS t,
    ${servedValueSql('stats__total')} AS total, ${servedValueSql('stats__tier')} AS tier, ${servedValueSql('stats__missing')} AS missing_value,
    ${servedStatusSql('stats__total')} AS total_status, ${servedStatusSql('stats__tier')} AS tier_status,
    ${servedStatusSql('stats__missing')} AS missing FROM ${servedRowsSql([servingLogFile(env.platform.dataDir, 'scoring', T0)])} ORDER BY t, k`);
  const expected = (t: number, first: number) => [
    ['c0', t, String(first), 't0', null, 'PRESENT', 'PRESENT', null], ['c1', t, null, 't1', null, 'NULL', 'PRESENT', null], ['c2', t, String(first + 2), null, null, 'PRESENT', 'NOT_MATERIALIZED', null],
  ];
  expect(read.map((r) => [r.k, Number(r.t) - T0, r.total, r.tier, r.missing_value, r.total_status, r.tier_status, r.missing])).toEqual([
    ...expected(0, 10), ...expected(2, 10), ['c3', 4, '10', 't0', null, 'PRESENT', 'PRESENT', null],
    ...expected(10, 10), ['c3', 30, '10', 't0', null, 'PRESENT', 'PRESENT', null],
    ...expected(110, 10), ['c3', 130, '10', 't0', null, 'PRESENT', 'PRESENT', null],
  ]);
  // The JS reader and DuckDB give the same rows, whatever the format.
  const js = (await readServingLog(env.platform.dataDir)).map((r) => [r.entityKey, r.servedAt - T0, r.values.stats__total === null ? null : String(r.values.stats__total), r.values.stats__tier, null, r.statuses.stats__total, r.statuses.stats__tier, null]);
  expect(read.map((r) => [r.k, Number(r.t) - T0, r.total, r.tier, r.missing_value, r.total_status, r.tier_status, r.missing])).toEqual(js.sort((a, b) => Number(a[1]) - Number(b[1]) || String(a[0]).localeCompare(String(b[0]))));
  // Set-based: the files are read by one scan (its operator's title and function name), kept for the
  // names lines, and the names joined to the rows by id with a hash join: no per-row lookup.
  const plan = (await engine.all<Record<string, unknown>>(`EXPLAIN SELECT ${servedValueSql('stats__total')} FROM ${servedRowsSql([servingLogFile(env.platform.dataDir, 'scoring', T0)])}`)).map((r) => String(r.explain_value)).join('\n');
  expect(plan.match(/READ_CSV/g)).toHaveLength(2);
  expect(plan).toMatch(/CTE_SCAN/);
  expect(plan).toMatch(/HASH_JOIN/);
  expect(plan).toMatch(/UNNEST/);
});

test('erasing a key removes its rows of every format; a request line loses the row (its other bytes kept) or goes with its last row, a names line with the last row that refers to it', async () => {
  const { old, lean, compact, rows } = await mixedLog();
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const before = readFileSync(file, 'utf8').trimEnd().split('\n');
  const erase = await purgeServingLog(env.platform, { row: (row) => row.entityKey === 'c1' || row.entityKey === 'c3', torn: () => false }, false);
  expect(erase).toMatchObject({ rows: 7, filesRewritten: ['scoring/2024-03-01T10.jsonl'] });
  const left = readFileSync(file, 'utf8');
  expect(left).not.toContain('"c1"');
  expect(left).not.toContain('"c3"');
  expect(left).not.toContain('lean-2');
  expect(left).not.toContain('compact-2');
  expect(left).not.toContain('rows-2');
  expect(left).toContain('"names":["stats__total","stats__tier"]');
  // The request line holding c0, c1 and c2 is the same bytes without c1's row.
  expect(left.trimEnd().split('\n').at(-1)).toBe(before[17]!.replace(',["c1",[null,"t1"]]', ''));
  expect(erase.bytes).toBe(Buffer.byteLength(before.join('\n')) + 1 - Buffer.byteLength(left));
  expect(await readServingLog(env.platform.dataDir)).toEqual([old[0], old[2], lean[0], lean[2], compact[0], compact[2], rows[0], rows[2]]);

  const retention = await purgeServingLog(env.platform, { row: (row) => row.servedAt < T0 + 10 && 'stats' in row.views, torn: () => false }, false);
  expect(retention.rows).toBe(4);
  expect(await readServingLog(env.platform.dataDir)).toEqual([compact[0], compact[2], rows[0], rows[2]]);
  // The first row of a request line, then its last: the line goes with it, and the names line with the last row that refers to it.
  await purgeServingLog(env.platform, { row: (row) => row.requestId === 'rows-1' && row.entityKey === 'c0', torn: () => false }, false);
  expect(readFileSync(file, 'utf8').trimEnd().split('\n').at(-1)).toBe(before[17]!.replace('["c0",[10,"t0"]],["c1",[null,"t1"]],', ''));
  expect(await readServingLog(env.platform.dataDir)).toEqual([compact[0], compact[2], rows[2]]);
  await purgeServingLog(env.platform, { row: (row) => row.requestId === 'rows-1', torn: () => false }, false);
  expect(readFileSync(file, 'utf8')).not.toContain('rows-1');
  expect(await readServingLog(env.platform.dataDir)).toEqual([compact[0], compact[2]]);
  await purgeServingLog(env.platform, { row: () => true, torn: () => false }, false);
  expect(existsSync(file)).toBe(false);
});

test('erasure removes a row of a request line that does not read by its text (and keeps the others); a request line whose names line is lost goes whole when its text matches', async () => {
  await written([[answer(['c0', 'c1', 'c2'], T0), 'r1', T0]], false);
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const [names, request] = readFileSync(file, 'utf8').trimEnd().split('\n');
  // c1's row broken (a status letter this build does not know): unreadable, counted, removed by its text.
  writeFileSync(file, `${names}\n${request!.replace('["c1",[null,"t1"]]', '["c1",[null,"t1"],"Z"]')}\n`);
  let unreadable = 0;
  for await (const batch of servedRowBatches(env.platform.dataDir)) unreadable += batch.unreadable;
  expect(unreadable).toBe(1);
  expect((await readServingLog(env.platform.dataDir)).map((r) => r.entityKey)).toEqual(['c0', 'c2']);
  const erase = await purgeServingLog(env.platform, { row: (row) => row.entityKey === 'c1', torn: (text) => text.includes('"c1"') }, false);
  expect(erase.rows).toBe(1);
  expect(readFileSync(file, 'utf8')).toBe(`${names}\n${request!.replace(',["c1",[null,"t1"]]', '')}\n`);
  // Without its names line the request line does not read: it goes whole when the subject's key is in its text.
  writeFileSync(file, `${request}\n`);
  expect(await readServingLog(env.platform.dataDir)).toEqual([]);
  expect((await purgeServingLog(env.platform, { row: () => false, torn: (text) => text.includes('"c1"') }, false)).rows).toBe(1);
  expect(existsSync(file)).toBe(false);
});

test('a row line whose request line, or whose names line, is not before it is unreadable, skipped and counted, never given another line\'s parts', async () => {
  await written([[answer(['c0', 'c1'], T0), 'r1', T0]], true);
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
  await written([[answer(['c0', 'c1'], T0), 'r1', T0], [answer(['c2'], T0 + 1), 'r2', T0 + 1]], true);
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
  const read = await engine.all<Record<string, unknown>>(`SELECT ${servedEntityKeySql} AS k, ${servedValueSql('stats__total')} AS total FROM ${servedRowsSql([file])} ORDER BY k`);
  expect(read.map((r) => [r.k, r.total])).toEqual([['c0', '10'], ['c2', '10']]);
});

test('a request line of 100 rows, of 1 row, and of rows with statuses not implied reads back as the rows served, alike in JS and DuckDB', async () => {
  const keys = Array.from({ length: 100 }, (_v, i) => `c${i}`);
  const answers = [answer(keys, T0), answer(['c7'], T0 + 1), answer(['a', 'b', 'c'], T0 + 2)];
  await written(answers.map((a, i) => [a, `r${i}`, T0 + 10 + i] as const), false);
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  expect(lines.map((l) => (JSON.parse(l) as { rows?: unknown[] }).rows?.length)).toEqual([undefined, 100, 1, 3]);
  const served = answers.flatMap((a, i) => servedRowsOf(a, 'scoring', ['customer_id'], T0 + 10 + i).map((r) => ({ ...r, requestId: `r${i}` })));
  const rows = await readServingLog(env.platform.dataDir);
  expect(rows).toEqual(served);
  const engine = await env.platform.engine();
  const read = await engine.all<Record<string, unknown>>(`SELECT ${servedEntityKeySql} AS k, ${servedAtSql} AS t, ${servedValueSql('stats__total')} AS total, ${servedValueSql('stats__tier')} AS tier,
    ${servedStatusSql('stats__total')} AS total_status, ${servedStatusSql('stats__tier')} AS tier_status FROM ${servedRowsSql([file])}`);
  const text = (v: unknown) => (v === null ? null : String(v));
  const key = (r: unknown[]) => `${String(r[1])} ${String(r[0])}`;
  expect(read.map((r) => [r.k, Number(r.t), r.total, r.tier, r.total_status, r.tier_status]).sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
    rows.map((r) => [r.entityKey, r.servedAt, text(r.values.stats__total), text(r.values.stats__tier), r.statuses.stats__total, r.statuses.stats__tier]).sort((a, b) => key(a).localeCompare(key(b))),
  );
});

test('DuckDB leaves out the rows of request lines the JS reader rejects: a values list not as long as the names, an unknown status letter, an entity key not a string, a row not a list, a request line without its parts', async () => {
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  mkdirSync(dirname(file), { recursive: true });
  const names = '{"columns":"0123456789abcdef","names":["stats__total","stats__tier"]}';
  const parts = `"service":"scoring","joinKeys":["customer_id"],"asOf":"${new Date(T0).toISOString()}","servedAt":${T0},"views":{"stats":{"definitionHash":"h","snapshots":{}}}`;
  const request = (id: string, rows: string, without?: string) => {
    const all = `{"requestId":"${id}",${parts},"columns":"0123456789abcdef","rows":[${rows}]}`;
    const member = Object.entries(JSON.parse(`{${parts}}`) as Record<string, unknown>).find(([name]) => name === without);
    return member === undefined ? all : all.replace(`${JSON.stringify(member[0])}:${JSON.stringify(member[1])},`, '');
  };
  const lines = [
    names,
    request('r1', '["ok1",[1,"a"]],["short",[2]],["long",[3,"c",4]],["letter",[4,"d"],"P?"],["letters",[5,"e"],"P"],["coded",[6,"f"],"PS"]'),
    request('r2', '[7,[7,"g"]],"row",["values",8],["nokeys",[9,"h"],null,5],["keys",[10,"i"],null,{"customer_id":"keys"}],["ok2",[11,"j"],null]'),
    ...['service', 'asOf', 'servedAt', 'views'].map((without) => request(`w-${without}`, `["no-${without}",[1,"a"]]`, without)),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  ['service', 'asOf', 'servedAt', 'views'].forEach((without, i) => expect(lines[3 + i]).not.toContain(`"${without}":`));
  const js = (await readServingLog(env.platform.dataDir)).map((r) => r.entityKey).sort();
  expect(js).toEqual(['coded', 'keys', 'ok1', 'ok2']);
  const engine = await env.platform.engine();
  const read = await engine.all<{ k: string }>(`SELECT ${servedEntityKeySql} AS k FROM ${servedRowsSql([file])} ORDER BY k`);
  expect(read.map((r) => r.k)).toEqual(js);
});

test('a key with a lone surrogate (valid JSON, written as \\ud800) does not cost its line: DuckDB reads the rows of its request line as the JS reader does (review finding 5)', async () => {
  const keys = ['c2', '\ud800x', 'c4', 'c5'];
  await written([[answer(keys, T0), 'r1', T0], [answer(['c6'], T0 + 1), 'r2', T0 + 1]], false);
  await written([[answer(['\udc00', 'c7'], T0 + 2), 'r3', T0 + 2]], true);
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  expect(readFileSync(file, 'utf8')).toContain('"\\ud800x"');
  const rows = await readServingLog(env.platform.dataDir);
  expect(rows.map((r) => r.entityKey)).toEqual([...keys, 'c6', '\udc00', 'c7']);
  const engine = await env.platform.engine();
  const read = await engine.all<Record<string, unknown>>(`SELECT ${servedEntityKeySql} AS k, ${servedAtSql} AS t, ${servedValueSql('stats__total')} AS total, ${servedStatusSql('stats__tier')} AS tier_status FROM ${servedRowsSql([file])}`);
  // A lone surrogate, which DuckDB's JSON cannot hold, reads as U+FFFD in the key; the values are the row's.
  const shown = (key: string) => key.replace(/[\ud800-\udfff]/g, '\ufffd');
  const text = (v: unknown) => (v === null ? null : String(v));
  const order = (a: unknown[], b: unknown[]) => `${String(a[1])} ${String(a[0])}`.localeCompare(`${String(b[1])} ${String(b[0])}`);
  expect(read.map((r) => [r.k, Number(r.t), r.total, r.tier_status]).sort(order)).toEqual(
    rows.map((r) => [shown(r.entityKey), r.servedAt, text(r.values.stats__total), r.statuses.stats__tier]).sort(order),
  );
});

test('the writer does not log a row of an erased subject: the block list is read on each flush when it changed (review finding 7)', async () => {
  const erasure = env.platform.metadata.erasure;
  const erased = erasedSubjects({ erasure, dataDir: env.platform.dataDir });
  const log = servingLogWriter({ dataDir: env.platform.dataDir, erased });
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c8', 'c9'], T0), 'r1', T0);
  await log.flush();
  await erasure.request({ entity: 'customer', subject: erasureHash(projectSecret(env.platform.dataDir), 'customer', 'c9'), requestedBy: 'cli:test', receivedAt: T0, deadlineAt: T0 + 1 });
  await log.flush();
  expect(erased.isErased('customer', 'c9')).toBe(true);
  expect(erased.isErased('customer', 'c8')).toBe(false);
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c9', 'c7', 'c9'], T0 + 1), 'r2', T0 + 1);
  log.record(env.project, { entities: {}, service: 'scoring' }, answer(['c9'], T0 + 2), 'r3', T0 + 2);
  await log.close();
  const rows = await readServingLog(env.platform.dataDir);
  expect(rows.map((r) => [r.requestId, r.entityKey])).toEqual([['r1', 'c8'], ['r1', 'c9'], ['r2', 'c7']]);
  expect(readFileSync(servingLogFile(env.platform.dataDir, 'scoring', T0), 'utf8').split('"c9"').length - 1).toBe(1);
});
