import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isSluiceError } from '../../errors.js';
import { duckDbEngine } from './duckdb-engine.js';
import { engineMessage, VALUE_NOT_SHOWN } from './engine-error.js';
import type { SqlEngine } from './sql-engine.js';

const MARKER = 'MARKER-5f3a@example.com';
let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine();
});
afterAll(async () => engine?.close());

const failure = async (sql: string) => {
  try {
    await engine.all(sql);
  } catch (error) {
    return error as Error & { cause?: Error };
  }
  throw new Error(`expected ${sql} to fail`);
};

describe('engine errors never quote a data value', () => {
  test.each([
    ['INTEGER', 'Could not convert string'], ['DOUBLE', 'Could not convert string'], ['BOOLEAN', 'Could not convert string'],
    ['TIMESTAMP', 'invalid timestamp field format'], ['DATE', 'invalid date field format'], ['DECIMAL(10,2)', 'Could not convert string'],
  ])('a value that is not a %s: the message says what failed, its cause and stack hold no value', async (type, what) => {
    const error = await failure(`SELECT CAST(x AS ${type}) FROM (VALUES ('${MARKER}')) t(x)`);
    expect(isSluiceError(error) && error.code).toBe('ADAPTER_FAILED');
    expect(error.message).toContain(what);
    expect(error.message).toContain(VALUE_NOT_SHOWN);
    for (const text of [error.message, error.cause?.message, error.cause?.stack, error.stack]) expect(text ?? '').not.toContain(MARKER);
  });

  test('a parse with a format, and a CSV line', async () => {
    const parse = await failure(`SELECT strptime(x, '%Y') FROM (VALUES ('${MARKER}')) t(x)`);
    expect(parse.message).toMatch(/^DuckDB: Invalid Input Error: Could not parse string \[value not shown\] according to format specifier "%Y"/);
    expect(parse.message).not.toContain(MARKER);
    expect(engineMessage(`Invalid Input Error: CSV Error on Line: 3\nOriginal Line: ${MARKER},3,4\nExpected Number of Columns: 2 Found: 4`))
      .toBe(`Invalid Input Error: CSV Error on Line: 3\nOriginal Line: ${VALUE_NOT_SHOWN}\nExpected Number of Columns: 2 Found: 4`);
  });

  test.each([
    ['a cast to a list', `SELECT CAST(x AS INTEGER[]) FROM (VALUES ('[${MARKER}')) t(x)`, /with value \[value not shown\] can't be cast/],
    ['a cast to a struct', `SELECT CAST(x AS STRUCT(a INTEGER)) FROM (VALUES ('${MARKER}')) t(x)`, /with value \[value not shown\] can't be cast/],
    ['a cast to JSON', `SELECT CAST(x AS JSON) FROM (VALUES ('${MARKER}')) t(x)`, /Malformed JSON .*Input: \[value not shown\]/],
    ['a JSON function on a value that is not JSON', `SELECT json_extract(x, '$.a') FROM (VALUES ('${MARKER}')) t(x)`, /Malformed JSON .*Input: \[value not shown\]/],
  ])('%s: the value is not shown', async (_what, sql, shown) => {
    const error = await failure(sql);
    expect(error.message).toMatch(shown);
    for (const text of [error.message, error.cause?.message, error.cause?.stack, error.stack]) expect(text ?? '').not.toContain(MARKER);
  });

  test('a value that fails when a streamed result starts', async () => {
    let error: (Error & { cause?: Error }) | undefined;
    try {
      for await (const chunk of engine.streamChunks(`SELECT CAST(CASE WHEN i < 150000 THEN i::VARCHAR ELSE '${MARKER}' END AS INTEGER) AS n FROM range(200000) t(i)`)) void chunk;
    } catch (caught) {
      error = caught as Error & { cause?: Error };
    }
    expect(error && isSluiceError(error) && error.code).toBe('ADAPTER_FAILED');
    expect(error!.message).toContain(VALUE_NOT_SHOWN);
    for (const text of [error!.message, error!.cause?.message, error!.cause?.stack, error!.stack]) expect(text ?? '').not.toContain(MARKER);
  });

  test('a streamed result that fails after its first chunks raises instead of ending early, without the value', async () => {
    let rows = 0;
    await expect((async () => {
      for await (const chunk of engine.streamChunks(`SELECT CAST(CASE WHEN i < 1500000 THEN i::VARCHAR ELSE '${MARKER}' END AS INTEGER) AS n FROM range(2000000) t(i)`)) rows += chunk.rowCount;
    })()).rejects.toMatchObject({ code: 'ADAPTER_FAILED', message: expect.stringMatching(/ended before its end marker: it failed mid-way/) });
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(1_500_000);
  });

  test('other errors are kept whole: they name SQL and files, not data', async () => {
    const error = await failure('SELECT amout FROM (VALUES (1)) t(amount)');
    expect(error.message).toMatch(/Referenced column "amout" not found/);
    const specifier = await failure("SELECT date_trunc('fortnight', TIMESTAMP '2024-01-01')");
    expect(specifier.message).toMatch(/Conversion Error: .*"fortnight" not recognized/);
  });
});
