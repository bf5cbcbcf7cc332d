import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { requestValue } from '../src/processing/request-features.js';
import { requestFieldSql } from '../src/serving/datasets/request-view-columns.js';
import { duckDbEngine } from '../src/storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../src/storage/engine/sql-engine.js';
import { parseTimestampSql } from '../src/time/index.js';

// Request views read a timestamp text online in JavaScript (`requestValue`) and in a dataset in
// DuckDB (`requestFieldSql`, a spine's request column): the same text must give the same
// instant on both, whatever the process's time zone, and a time is never moved later.
let engine: SqlEngine;
const dataset = () => requestFieldSql('t', 'timestamp', 'VARCHAR', 'text');
const previousTz = process.env.TZ;
beforeAll(async () => {
  process.env.TZ = 'America/New_York';
  engine = await duckDbEngine({ threads: 1 });
});
afterAll(async () => {
  await engine.close();
  if (previousTz === undefined) delete process.env.TZ;
  else process.env.TZ = previousTz;
});

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

async function inSql(sql: (expr: string) => string, texts: readonly string[]): Promise<(number | null)[]> {
  const rows = await engine.all<{ ms: number | bigint | null }>(
    `SELECT ${sql('s.t')} AS ms FROM (SELECT unnest(range(${texts.length})) AS i, unnest([${texts.map(quote).join(',')}]::VARCHAR[]) AS t) s ORDER BY i`,
  );
  return rows.map((r) => (r.ms === null ? null : Number(r.ms)));
}

const online = (text: string) => requestValue(text, 'timestamp') ?? null;

test('the process time zone is not UTC in this file (so a local-time reading would show)', () => {
  expect(new Date(2024, 0, 1).getTimezoneOffset()).toBe(300);
});

test('naive text is UTC, offsets read alike, sub-ms floored: online equals the dataset for the review cases', async () => {
  const cases: Array<[string, number | null]> = [
    ['2024-03-01 12:00:00', Date.UTC(2024, 2, 1, 12)],
    ['2024-03-01T12:00:00', Date.UTC(2024, 2, 1, 12)],
    ['2024-03-01', Date.UTC(2024, 2, 1)],
    ['2024-03-01T12:00:00+01', Date.UTC(2024, 2, 1, 11)],
    ['2024-03-01T12:00:00+0130', Date.UTC(2024, 2, 1, 10, 30)],
    ['2024-03-01T12:00:00-00:30', Date.UTC(2024, 2, 1, 12, 30)],
    ['2024-03-01 12:00', Date.UTC(2024, 2, 1, 12)],
    ['2024-03-01T12:00Z', Date.UTC(2024, 2, 1, 12)],
    ['2024-03-01T12:00+01:00', Date.UTC(2024, 2, 1, 11)],
    ['2024-03-01T24:00', Date.UTC(2024, 2, 2)],
    ['2024-03-01T12:00.5', null],
    ['2024-03-01T12', null],
    ['1969-12-31T23:59:59.9995Z', -1],
    ['1969-12-31T23:59:59.0001Z', -1000],
    ['2024-03-01T12:00:00.123456789Z', Date.UTC(2024, 2, 1, 12, 0, 0, 123)],
    ['2024-02-30', null],
    ['2024-03-01T12:00:60Z', null],
    ['2024-03-01t12:00:00z', null],
    ['yesterday', null],
  ];
  const texts = cases.map(([t]) => t);
  expect(texts.map(online)).toEqual(cases.map(([, ms]) => ms));
  expect(await inSql(dataset, texts)).toEqual(cases.map(([, ms]) => ms));
});

test('pre-1970 texts with 4-9 fractional digits are floored to the millisecond, in SQL (events, value columns) and JS alike', async () => {
  const texts: string[] = [];
  const expected: number[] = [];
  for (const base of ['1969-12-31T23:59:59', '1970-01-01T00:00:00', '1969-07-20T20:17:40']) {
    for (let digits = 4; digits <= 9; digits++) {
      for (const fraction of ['9'.repeat(digits), '0'.repeat(digits - 1) + '1', '5'.padEnd(digits, '0'), '123'.padEnd(digits, '7')]) {
        texts.push(`${base}.${fraction}Z`);
        expected.push(Date.parse(`${base}Z`) + Number(fraction.slice(0, 3)));
      }
    }
  }
  expect(texts.map(online)).toEqual(expected);
  expect(await inSql(parseTimestampSql, texts)).toEqual(expected);
  expect(await inSql(dataset, texts)).toEqual(expected);
});

// Texts near the grammar: valid ones, and ones a digit, a separator or a field away from it.
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const timestampText = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 9999 }).map((y) => pad(y, 4)), fc.integer({ min: 0, max: 20000 }).map((y) => `${y < 10000 ? '-' : '+'}${pad(y, 6)}`), fc.constantFrom('24', '20245')),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    sep: fc.constantFrom('T', ' ', 't', ''),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 60 }),
    second: fc.option(fc.integer({ min: 0, max: 60 })),
    fraction: fc.option(fc.stringMatching(/^\d{0,11}$/)),
    offset: fc.option(fc.oneof(fc.constantFrom('Z', 'z', ' Z', '+', '+1'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 25 }), fc.option(fc.integer({ min: 0, max: 61 })), fc.constantFrom(':', '')).map(([s, h, m, c]) => `${s}${pad(h, 2)}${m === null ? '' : `${c}${pad(m, 2)}`}`))),
  })
  .map((p) => {
    const date = `${p.year}-${pad(p.month, 2)}-${pad(p.day, 2)}`;
    if (p.sep === '') return date;
    const time = `${pad(p.hour, 2)}:${pad(p.minute, 2)}${p.second === null ? '' : `:${pad(p.second, 2)}`}${p.fraction === null ? '' : `.${p.fraction}`}`;
    return `${date}${p.sep}${time}${p.offset ?? ''}`;
  });

test('property: for any text near ISO-8601, the online value equals the dataset value (both floored, both UTC)', async () => {
  const texts = fc.sample(timestampText, { numRuns: 3000, seed: 20261130 });
  const sql = await inSql(dataset, texts);
  const mismatches = texts.map((t, i) => [t, online(t), sql[i]] as const).filter(([, a, b]) => a !== b);
  expect(mismatches).toEqual([]);
  // The generator reaches both sides of the grammar.
  expect(sql.filter((ms) => ms !== null).length).toBeGreaterThan(100);
  expect(sql.filter((ms) => ms === null).length).toBeGreaterThan(100);
});
