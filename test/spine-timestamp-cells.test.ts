import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { requestView } from '../src/definitions/index.js';
import { requestValue } from '../src/processing/request-features.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { requestFieldSql } from '../src/serving/datasets/request-view-columns.js';
import { loadSpineSql, spineReaderSql } from '../src/serving/datasets/load-spine-sql.js';
import { requestViewPlatform, scratchEngine, stats } from './support/spine-cells.js';

// Every timestamp cell of a spine is read by one rule, whatever its physical type: the spine's
// own `ts` and a request view's timestamp field in the same file give the same time (with the
// default unit, ms), and a JSONL cell the time online gives its JSON value.
const scratch = scratchEngine();
let files = 0;

/** Column `ts` of a spine file (JSONL lines `{"ts": <cell>}`, or Parquet from SQL `select`), read as the spine's ts and as a timestamp request field. */
async function readBoth(file: { jsonl: readonly string[] } | { parquet: string }): Promise<{ sqlType: string; ts: (number | null)[]; field: (number | null)[] }> {
  const [engine, dir] = [scratch.engine(), scratch.dir()];
  let path: string;
  if ('jsonl' in file) {
    path = join(dir, `s${files++}.jsonl`);
    writeFileSync(path, file.jsonl.map((c) => `{"k":"a","ts":${c}}`).join('\n') + '\n');
  } else {
    path = join(dir, `s${files++}.parquet`);
    await engine.run(`COPY (SELECT 'a' AS k, * FROM (${file.parquet})) TO '${path}' (FORMAT parquet)`);
  }
  const format = 'jsonl' in file ? 'jsonl' : 'parquet';
  const reader = spineReaderSql(path, format);
  const [{ column_type: sqlType }] = (await engine.all<{ column_type: string }>(`DESCRIBE SELECT ts FROM ${reader}`)) as [{ column_type: string }];
  const spine = loadSpineSql(reader, [{ column: 'k', type: 'string', sqlType: 'VARCHAR' }], 'ts', 'ms', sqlType);
  const rows = await engine.all<{ t: bigint | number | null; f: bigint | number | null }>(`SELECT _sluice_t AS t, ${requestFieldSql('ts', 'timestamp', sqlType, 'typed')} AS f FROM (${spine}) s ORDER BY _sluice_row`);
  const num = (v: bigint | number | null) => (v === null ? null : Number(v));
  return { sqlType, ts: rows.map((r) => num(r.t)), field: rows.map((r) => num(r.f)) };
}

const MS = Date.UTC(2024, 0, 1, 10, 0, 0, 123);

test('JSONL: integers, whole doubles, strings and mixed cells read alike as the ts and as a request field, and as online reads the JSON value', async () => {
  const cases: Array<[readonly string[], readonly (number | null)[]]> = [
    [['1704103200123', '-1', '0'], [MS, -1, 0]],
    [['1704103200123.0', '1.5', '-0.0'], [MS, null, 0]],
    [['9007199254740991', '9007199254740992'], [9007199254740991, null]],
    [['"2024-01-01T10:00:00.123Z"', '"1704103200123"', '" 1"'], [MS, MS, null]],
    [['1704103200123', '"2024-01-01T10:00:00.123Z"', '1704103200123.0', 'true', '1.5'], [MS, MS, MS, null, null]],
  ];
  for (const [cells, expected] of cases) {
    const { sqlType, ts, field } = await readBoth({ jsonl: cells });
    expect({ cells, sqlType, ts }).toEqual({ cells, sqlType, ts: expected });
    expect({ cells, sqlType, field }).toEqual({ cells, sqlType, field: expected });
    expect({ cells, online: cells.map((c) => requestValue(JSON.parse(c), 'timestamp') ?? null) }).toEqual({ cells, online: expected });
  }
});

test('Parquet: integer, decimal, double, timestamp (every precision, with a zone), date columns read alike as the ts and as a request field', async () => {
  const cases: Array<[string, readonly (number | null)[]]> = [
    [`SELECT * FROM (VALUES (${MS}::BIGINT), (-1::BIGINT)) v(ts)`, [MS, -1]],
    [`SELECT * FROM (VALUES ((${MS} // 1000000)::INTEGER), (7::UTINYINT::INTEGER)) v(ts)`, [Math.floor(MS / 1000000), 7]],
    [`SELECT * FROM (VALUES (${MS}::DECIMAL(18,3)), (1.5::DECIMAL(18,3))) v(ts)`, [MS, null]],
    [`SELECT * FROM (VALUES (${MS}::DOUBLE), (1.5::DOUBLE)) v(ts)`, [MS, null]],
    ["SELECT * FROM (VALUES (TIMESTAMP '2024-01-01 10:00:00.123'), (TIMESTAMP '1969-12-31 23:59:59.9995')) v(ts)", [MS, -1]],
    ["SELECT * FROM (VALUES (TIMESTAMP_NS '2024-01-01 10:00:00.123999999'), (TIMESTAMP_NS '1969-12-31 23:59:59.999999999')) v(ts)", [MS, -1]],
    ["SELECT * FROM (VALUES (TIMESTAMP_MS '2024-01-01 10:00:00.123')) v(ts)", [MS]],
    ["SELECT * FROM (VALUES (TIMESTAMP_S '2024-01-01 10:00:00')) v(ts)", [MS - 123]],
    ["SELECT * FROM (VALUES (TIMESTAMPTZ '2024-01-01 11:00:00.123+01')) v(ts)", [MS]],
    ["SELECT * FROM (VALUES (DATE '2024-01-01'), (DATE '1969-12-31')) v(ts)", [Date.UTC(2024, 0, 1), -86_400_000]],
    ["SELECT * FROM (VALUES (TIMESTAMP '10000-01-01 00:00:00')) v(ts)", [Date.UTC(10000, 0, 1)]],
    ["SELECT * FROM (VALUES ('2024-01-01T10:00:00.123Z'), ('1704103200123'), (' 1')) v(ts)", [MS, MS, null]],
    ["SELECT * FROM (VALUES (true)) v(ts)", [null]],
  ];
  for (const [sql, expected] of cases) {
    const { sqlType, ts, field } = await readBoth({ parquet: sql });
    expect({ sql, sqlType, ts }).toEqual({ sql, sqlType, ts: expected });
    expect({ sql, sqlType, field }).toEqual({ sql, sqlType, field: expected });
  }
});

test('a dataset build reads a Parquet TIMESTAMP ts and request field, and JSONL whole-number doubles, by the one rule; doubles that look like epoch seconds are refused without a unit', async () => {
  const stamped = requestView({ name: 'stamped', request: { at: 'timestamp' }, inputs: [stats], features: { at_again: ({ request }) => request.at }, types: { at_again: 'timestamp' } });
  const { env, at } = await requestViewPlatform('stamps', stamped);
  try {
    const t = Date.parse(at);
    const parquet = join(env.dir, 'spine.parquet');
    await scratch.engine().run(`COPY (SELECT 'c1' AS customer_id, make_timestamp(${t}::BIGINT * 1000) AS ts, make_timestamp((${t}::BIGINT - 1000) * 1000) AS "at") TO '${parquet}' (FORMAT parquet)`);
    const out = join(env.dir, 'a.jsonl');
    await buildDataset(env.platform, env.project, { spine: parquet, out, service: 's' });
    const [row] = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(row!.stamped__at_again).toBe(new Date(t - 1000).toISOString());
    // JSONL numbers written as doubles (1.7e12, 1704103200123.0): the ts and the request field alike.
    const jsonl = join(env.dir, 'spine.jsonl');
    writeFileSync(jsonl, `{"customer_id":"c1","ts":${t}.0,"at":${t - 1000}.0}\n`);
    await buildDataset(env.platform, env.project, { spine: jsonl, out, service: 's' });
    const [again] = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(again!.stamped__at_again).toBe(new Date(t - 1000).toISOString());
    writeFileSync(jsonl, `{"customer_id":"c1","ts":${t / 1000}.0,"at":${t - 1000}}\n`);
    await expect(buildDataset(env.platform, env.project, { spine: jsonl, out, service: 's' })).rejects.toThrow(/look like epoch seconds; pass --timestamp-unit s/);
    // The unit is the ts column's: a request field is in ms, as a request sends it.
    await buildDataset(env.platform, env.project, { spine: jsonl, out, service: 's', timestampUnit: 's' });
    const [third] = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(third!.stamped__at_again).toBe(new Date(t - 1000).toISOString());
  } finally {
    await env.dispose();
  }
});
