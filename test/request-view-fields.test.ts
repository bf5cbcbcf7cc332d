import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { requestView, type ScalarType } from '../src/definitions/index.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { requestValue } from '../src/processing/request-features.js';
import { requestViewPlatform, spineCells, stats } from './support/spine-cells.js';

// A request view's int64 and timestamp request fields are read by one rule online (`requestValue`,
// on the JSON value a request sends) and in a dataset's spine (`requestFieldSql`, on the cell as
// the spine's reader types it): a cell is accepted exactly when its online counterpart is, with
// the same value. A CSV cell is text (its counterpart is a JSON string); a JSONL cell is the JSON
// value itself.
const inSpine = spineCells();

const online = (raw: unknown, type: ScalarType) => requestValue(raw, type) ?? null;

test('int64: a CSV cell is read as online reads the same text sent as a string (ingest\'s int64 rule: sign and digits, in range)', async () => {
  const cases: Array<[string, number | bigint | null]> = [
    ['7', 7],
    ['-7', -7],
    ['+7', 7],
    ['007', 7],
    ['9223372036854775807', 9223372036854775807n],
    ['-9223372036854775808', -9223372036854775808n],
    ['00000000000000000000042', 42],
    ['9223372036854775808', null],
    [`-${'0'.repeat(40)}9223372036854775808`, -9223372036854775808n],
    ['9'.repeat(100_000), null],
    ['1.5', null],
    ['7.0', null],
    ['1e3', null],
    ['0x10', null],
    [' 7', null],
    ['true', null],
  ];
  expect(cases.map(([text]) => online(text, 'int64'))).toEqual(cases.map(([, v]) => v));
  expect(await inSpine('csv', cases.map(([text]) => text), 'int64')).toEqual(cases.map(([, v]) => v));
});

test('int64: a JSONL number is read as online reads it: a whole number (7.0 and 1e3 too) that a double holds exactly; an integer the reader keeps exact is exact', async () => {
  const doubles: Array<[string, number | null]> = [['7.0', 7], ['1e3', 1000], ['-0.0', 0], ['1.5', null], ['9007199254740991.0', 9007199254740991], ['9007199254740992.0', null], ['7', 7]];
  expect(doubles.map(([json]) => online(JSON.parse(json), 'int64'))).toEqual(doubles.map(([, v]) => v));
  expect(await inSpine('jsonl', doubles.map(([json]) => json), 'int64')).toEqual(doubles.map(([, v]) => v));
  // Integers alone: DuckDB reads them as BIGINT, exactly (online, send one beyond 2^53 as a string of digits).
  expect(await inSpine('jsonl', ['7', '-7', '9223372036854775807'], 'int64')).toEqual([7, -7, 9223372036854775807n]);
  expect(online('9223372036854775807', 'int64')).toBe(9223372036854775807n);
  // Mixed JSON values: each read by its own JSON type.
  const mixed: Array<[string, number | null]> = [['7', 7], ['"8"', 8], ['"+9"', 9], ['7.0', 7], ['"7.0"', null], ['1.5', null], ['true', null], ['"x"', null]];
  expect(mixed.map(([json]) => online(JSON.parse(json), 'int64'))).toEqual(mixed.map(([, v]) => v));
  expect(await inSpine('jsonl', mixed.map(([json]) => json), 'int64')).toEqual(mixed.map(([, v]) => v));
});

test('timestamp: integer text is epoch milliseconds online and in a spine alike; other text follows the timestamp grammar', async () => {
  const cases: Array<[string, number | null]> = [
    ['1700000000000', 1700000000000],
    ['-1', -1],
    ['+17', 17],
    ['2024-03-01', Date.UTC(2024, 2, 1)],
    ['9007199254740991', 9007199254740991],
    ['9007199254740992', null],
    ['1.7e12', null],
    [' 17', null],
  ];
  expect(cases.map(([text]) => online(text, 'timestamp'))).toEqual(cases.map(([, v]) => v));
  expect(await inSpine('csv', cases.map(([text]) => text), 'timestamp')).toEqual(cases.map(([, v]) => v));
  const json: Array<[string, number | null]> = [['1700000000000', 1700000000000], ['1700000000000.0', 1700000000000], ['1.5', null], ['"2024-03-01"', Date.UTC(2024, 2, 1)], ['"1700000000000"', 1700000000000], ['true', null]];
  expect(json.map(([j]) => online(JSON.parse(j), 'timestamp'))).toEqual(json.map(([, v]) => v));
  expect(await inSpine('jsonl', json.map(([j]) => j), 'timestamp')).toEqual(json.map(([, v]) => v));
});

test('a dataset build refuses a spine cell online would refuse, naming the row and the column; a JSONL 7.0 is 7', async () => {
  const scored = requestView({
    name: 'scored', request: { qty: 'int64', at: 'timestamp' }, inputs: [stats],
    features: { total: ({ request, stats }) => BigInt(request.qty) + BigInt(stats.n ?? 0), later: ({ request }) => request.at + 1 },
    types: { total: 'int64', later: 'timestamp' },
  });
  const { env, at } = await requestViewPlatform('fields', scored);
  try {
    const csv = join(env.dir, 'spine.csv');
    writeFileSync(csv, ['customer_id,ts,qty,at', `c1,${at},7,1700000000000`, `c1,${at},1.5,1700000000000`].join('\n'));
    await expect(buildDataset(env.platform, env.project, { spine: csv, out: join(env.dir, 'a.jsonl'), service: 's' })).rejects.toThrow(/spine row 2: request field "qty" \(of request view "scored"\) is missing or not an int64/);
    writeFileSync(csv, ['customer_id,ts,qty,at', `c1,${at},7,1.7e12`].join('\n'));
    await expect(buildDataset(env.platform, env.project, { spine: csv, out: join(env.dir, 'a.jsonl'), service: 's' })).rejects.toThrow(/spine row 1: request field "at" \(of request view "scored"\) is missing or not a timestamp/);
    const jsonl = join(env.dir, 'spine.jsonl');
    writeFileSync(jsonl, [`{"customer_id":"c1","ts":"${at}","qty":7.0,"at":1700000000000}`, `{"customer_id":"c1","ts":"${at}","qty":1e3,"at":"1700000000000"}`].join('\n') + '\n');
    const out = join(env.dir, 'b.jsonl');
    await buildDataset(env.platform, env.project, { spine: jsonl, out, service: 's' });
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => [r.scored__total, r.scored__later])).toEqual([[8, new Date(1700000000001).toISOString()], [1001, new Date(1700000000001).toISOString()]]);
  } finally {
    await env.dispose();
  }
});
