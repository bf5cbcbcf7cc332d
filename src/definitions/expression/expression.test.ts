import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, test } from 'vitest';
import { DefinitionError } from '../../errors.js';
import { compileExpression, type ExprType } from './index.js';
import { FUNCTIONS } from './functions.js';

const ROW: Record<string, ExprType> = { amount: 'float64', n: 'int64', channel: 'string', ok: 'bool', ts: 'timestamp' };
const compile = (text: string) => compileExpression('feature view "v": filter', text, ROW);

function failure(text: string): { message: string; position?: number } {
  try {
    compile(text);
  } catch (error) {
    expect(error).toBeInstanceOf(DefinitionError);
    const e = error as DefinitionError;
    return { message: e.message, position: (e.details as { position?: number } | undefined)?.position };
  }
  throw new Error(`"${text}" compiled`);
}

describe('row expressions', () => {
  test('render canonical SQL with quoted names, and type the result', () => {
    expect(compile("channel IN ('pos', 'moto')")).toEqual({ sql: `("channel" IN ('pos', 'moto'))`, type: 'bool', reads: ['channel'], probes: [] });
    expect(compile('amount * coalesce(n, 1)')).toMatchObject({ sql: '("amount" * coalesce("n", 1))', type: 'float64' });
    expect(compile('AMOUNT::BIGINT + 1')).toMatchObject({ sql: '(CAST("amount" AS BIGINT) + 1)', type: 'int64', reads: ['amount'] });
    expect(compile("CASE WHEN ok THEN 'y' ELSE NULL END")).toMatchObject({ type: 'string' });
    expect(compile("ts >= '2024-01-01' AND NOT ok")).toMatchObject({ type: 'bool' });
    expect(compile("channel NOT LIKE 'p%' OR n BETWEEN 1 AND 3")).toMatchObject({ type: 'bool' });
    expect(compile("'it''s' || channel")).toMatchObject({ sql: `('it''s' || "channel")`, type: 'string' });
  });

  test.each([
    ['random() > 0.5', 1, /random\(\) is not deterministic/],
    ['amount > 0 AND now() > ts', 16, /now\(\) is not deterministic/],
    ['ts < current_timestamp', 6, /current_timestamp is not deterministic/],
    ["read_csv('/etc/passwd') IS NULL", 1, /read_csv\(\) is not supported/],
    ['amount IN (SELECT 1)', 12, /subqueries are not allowed/],
    ['(SELECT max(amount) FROM t) > 1', 2, /subqueries are not allowed/],
    ['amont > 1', 1, /unknown column "amont".*did you mean "amount"/s],
    ["channel + 1 > 2", 1, /"\+" needs numbers, not a string/],
    ["amount = 'x'", 8, /"=" compares a float64 with a string/],
    ['sum(amount) > 1', 1, /sum\(\) is not supported/],
    ['amount > 1; DROP TABLE x', 11, /";" is not allowed/],
    ['amount > ', 10, /: the expression ends where a value is expected$/m],
    ['(amount > 1', 12, /expected "\)" to close "\(", found the end of the expression/],
    ['t.amount > 1', 1, /qualified names are not allowed/],
    ['lower(n) = \'a\'', 7, /lower\(\) argument 1 must be a string, not an int64/],
    ['amount > 1 -- comment', 12, /comments are not allowed/],
    ['select = 1', 1, /a column named select is written in double quotes: "select"/],
    ["amount > 1 AND end = 'x'", 16, /unexpected END; a column named end is written in double quotes: "end"/],
  ])('refuses %s at its position', (text, position, message) => {
    const f = failure(text);
    expect(f.message).toMatch(message);
    expect(f.position).toBe(position);
    expect(f.message).toContain(`at character ${position}`);
  });

  test('every supported function types its result as DuckDB does', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`CREATE TABLE r (amount DOUBLE, n BIGINT, channel VARCHAR, ok BOOLEAN, ts TIMESTAMP)`);
      const calls: Record<string, string> = {
        coalesce: 'coalesce(n, amount)', ifnull: 'ifnull(n, 2)', nullif: 'nullif(n, 2)', greatest: 'greatest(n, 2)', least: 'least(amount, 2)', abs: 'abs(n)', sign: 'sign(amount)',
        round: 'round(amount, 2)', floor: 'floor(amount)', ceil: 'ceil(n)', ceiling: 'ceiling(amount)', sqrt: 'sqrt(n)', cbrt: 'cbrt(amount)', exp: 'exp(amount)', ln: 'ln(amount)',
        log10: 'log10(amount)', log2: 'log2(n)', pow: 'pow(n, 2)', power: 'power(amount, n)', lower: 'lower(channel)', upper: 'upper(channel)', trim: 'trim(channel)',
        ltrim: 'ltrim(channel)', rtrim: 'rtrim(channel)', reverse: 'reverse(channel)', length: 'length(channel)', substr: 'substr(channel, 1, 2)', substring: 'substring(channel, 2)',
        left: 'left(channel, 2)', right: 'right(channel, 2)', replace: "replace(channel, 'a', 'b')", concat: 'concat(channel, n)', lpad: "lpad(channel, 5, '0')", rpad: "rpad(channel, 5, '0')",
        split_part: "split_part(channel, '-', 1)", strpos: "strpos(channel, 'a')", starts_with: "starts_with(channel, 'a')", ends_with: "ends_with(channel, 'a')", contains: "contains(channel, 'a')",
        regexp_matches: "regexp_matches(channel, '^a')", regexp_replace: "regexp_replace(channel, 'a', 'b')", regexp_extract: "regexp_extract(channel, 'a(b)', 1)", md5: 'md5(channel)',
        date_trunc: "date_trunc('hour', ts)", date_part: "date_part('hour', ts)", date_diff: "date_diff('day', ts, ts)", year: 'year(ts)', month: 'month(ts)', day: 'day(ts)', hour: 'hour(ts)',
        minute: 'minute(ts)', second: 'second(ts)', dayofweek: 'dayofweek(ts)', dayofyear: 'dayofyear(ts)', quarter: 'quarter(ts)', epoch_ms: 'epoch_ms(ts)', strftime: "strftime(ts, '%Y')",
        if: 'if(ok, n, 2)',
      };
      expect(Object.keys(calls).sort()).toEqual(Object.keys(FUNCTIONS).sort());
      const family = (duck: string): ExprType => {
        if (/^(BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER)$/.test(duck)) return 'int64';
        if (/^(DOUBLE|FLOAT|DECIMAL.*)$/.test(duck)) return 'float64';
        return ({ VARCHAR: 'string', BOOLEAN: 'bool', TIMESTAMP: 'timestamp', DATE: 'date' } as Record<string, ExprType>)[duck] ?? (duck as ExprType);
      };
      for (const [name, text] of Object.entries(calls)) {
        const typed = compile(text);
        const reader = await db.runAndReadAll(`DESCRIBE SELECT ${typed.sql} AS x FROM r`);
        expect({ name, type: typed.type }).toEqual({ name, type: family(String(reader.getRowObjects()[0]!['column_type'])) });
      }
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });

  test.each([
    ['parentheses', `${'('.repeat(5000)}n${')'.repeat(5000)}`],
    ['function calls', `${'abs('.repeat(2000)}n${')'.repeat(2000)}`],
    ['NOTs', `${'NOT '.repeat(5000)}ok`],
    ['casts', `n${'::BIGINT'.repeat(5000)}`],
    ['a chain of additions', Array(5000).fill('n').join(' + ')],
  ])('refuses an expression nested too deeply (%s) with a DefinitionError, not a stack overflow', (_, text) => {
    expect(failure(text).message).toMatch(/nested too deeply/);
  });

  test('an expression nested as deep as the limit allows compiles', () => {
    expect(compile(`${'('.repeat(60)}n${')'.repeat(60)} + ${Array(60).fill('n').join(' + ')}`)).toMatchObject({ type: 'int64' });
  });

  test('checks each sub-expression once: nested coalesce and CASE compile in linear time', () => {
    // Re-checking the arguments of each level doubled the work per level: 40 levels never finished.
    expect(compile(`${'coalesce('.repeat(40)}n${', 1)'.repeat(40)} > 0`)).toMatchObject({ type: 'bool' });
    expect(compile(`${'CASE WHEN ok THEN '.repeat(40)}n${' ELSE 1 END'.repeat(40)} > 0`)).toMatchObject({ type: 'bool' });
    expect(compile(`${'if(ok, '.repeat(40)}amount${', 1)'.repeat(40)} > 0`)).toMatchObject({ type: 'bool' });
  });

  test('what compiles binds in DuckDB: int64 columns as lengths and precisions; format and group arguments must be literals', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`CREATE TABLE r (amount DOUBLE, n BIGINT, channel VARCHAR, ok BOOLEAN, ts TIMESTAMP)`);
      await db.run(`INSERT INTO r VALUES (1.25, 1, 'abc', true, TIMESTAMP '2024-01-01'), (2.5, 9223372036854775807, 'x', false, NULL)`);
      for (const text of ["lpad(channel, 10, '0')", "rpad(channel, 10000, '0')", 'round(amount, n)', 'round(n, n)', 'round(amount, 9223372036854775807)', 'substr(channel, 9223372036854775807)', 'ts::DATE + n', 'ts::DATE - n * 2']) {
        const reader = await db.runAndReadAll(`SELECT TRY(${compile(text).sql}) AS x FROM r`);
        expect(reader.getRowObjects()).toHaveLength(2);
      }
    } finally {
      db.closeSync();
      instance.closeSync();
    }
    expect(failure('strftime(ts, channel) = \'x\'').message).toMatch(/strftime\(\) argument 2 must be a literal/);
    expect(failure("regexp_extract(channel, 'a(b)', n) = 'b'").message).toMatch(/regexp_extract\(\) argument 3 must be a literal/);
  });

  test('a padding length is a literal of at most 10000: a pushed value cannot make a string of gigabytes', () => {
    // lpad(channel, n, 'x') with n = 300000000 in one pushed event took the server 6 s and 700 MB.
    expect(failure("lpad(channel, n, '0') = 'x'").message).toMatch(/lpad\(\) argument 2 must be a literal/);
    expect(failure("rpad(channel, 10001, '0') = 'x'").message).toMatch(/rpad\(\) argument 2 must be at most 10000/);
    expect(failure("lpad(channel, 2000000000, '0') = 'x'").message).toMatch(/lpad\(\) argument 2 must be at most 10000/);
  });

  test('a string compared with a time must be a UTC date or timestamp: an invalid one or one with an offset is refused, not silently false', () => {
    // DuckDB reads '2024-13-01' as NULL (so the filter drops every row) and ignores '+05:30' (so the
    // bound is 5h30 off from what the same text means in an event).
    for (const text of ["ts >= '2024-13-01'", "ts >= '2024-02-30'", "ts < '2024-01-01T10:00:00+05:30'", "ts IN ('yesterday')", "ts BETWEEN '2024-01-01' AND '2024'", "date_diff('day', ts, 'garbage') > 1"]) {
      expect(failure(text).message).toMatch(/is not a time: write a UTC date or timestamp/);
    }
    for (const text of ["ts >= '2024-01-01'", "ts BETWEEN '2024-01-01 10:00' AND '2024-01-31T23:59:59.999Z'", "date_diff('day', ts, '2024-02-29') > 1", "ts::DATE = '2024-01-01'"]) {
      expect(compile(text)).toMatchObject({ type: 'bool' });
    }
  });

  test('IS [NOT] DISTINCT FROM compares NULL-safely, so a filter keeps the rows <> would drop', async () => {
    expect(compile("channel IS DISTINCT FROM 'pos'")).toMatchObject({ sql: `("channel" IS DISTINCT FROM 'pos')`, type: 'bool' });
    expect(compile('n IS NOT DISTINCT FROM amount')).toMatchObject({ type: 'bool' });
    expect(failure("amount IS DISTINCT FROM 'x'").message).toMatch(/IS DISTINCT FROM compares a float64 with a string/);
    expect(failure('amount IS DISTINCT NULL').message).toMatch(/expected FROM in IS \[NOT\] DISTINCT FROM/);
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      const reader = await db.runAndReadAll(`SELECT ${compile("channel IS DISTINCT FROM 'pos'").sql} AS m FROM (VALUES ('pos'), ('web'), (NULL)) t(channel)`);
      expect(reader.getRowObjects().map((r) => r.m)).toEqual([false, true, true]);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });

  test('LIKE and ILIKE take an ESCAPE character, so a pattern can match a literal "_" or "%"', async () => {
    // DuckDB's LIKE has no default escape ('p\\_s' matches only a backslash): ESCAPE was refused.
    expect(compile("channel LIKE 'p!_s%' ESCAPE '!'")).toEqual({ sql: `("channel" LIKE 'p!_s%' ESCAPE '!')`, type: 'bool', reads: ['channel'], probes: [] });
    expect(compile("channel NOT ILIKE '100!%' ESCAPE '!'")).toMatchObject({ sql: `("channel" NOT ILIKE '100!%' ESCAPE '!')` });
    expect(failure("channel LIKE 'a' ESCAPE channel").message).toMatch(/ESCAPE takes one character in quotes/);
    expect(failure("channel LIKE 'a' ESCAPE '!!'").message).toMatch(/ESCAPE takes one character in quotes/);
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      const reader = await db.runAndReadAll(`SELECT ${compile("channel LIKE 'p!_s' ESCAPE '!'").sql} AS m FROM (VALUES ('p_s'), ('pxs')) t(channel)`);
      expect(reader.getRowObjects().map((r) => r.m)).toEqual([true, false]);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });

  test('every function binds in DuckDB with a column, a literal or NULL in each argument', async () => {
    // year('2024-01-01'), date_trunc(channel, NULL), contains(NULL, NULL), ... compiled but did not bind.
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const options: Record<string, string[]> = {
      num: ['amount', 'n', 'NULL'], int: ['n', '3', 'NULL'], str: ['channel', "'day'", 'NULL'], bool: ['ok', 'NULL'],
      time: ['ts', 'ts::DATE', "'2024-01-01'", 'NULL'], any: ['amount', 'n', 'channel', 'ok', 'ts', 'ts::DATE', 'NULL'],
    };
    const failed: string[] = [];
    try {
      await db.run('CREATE TABLE r (amount DOUBLE, n BIGINT, channel VARCHAR, ok BOOLEAN, ts TIMESTAMP)');
      for (const [name, signature] of Object.entries(FUNCTIONS)) {
        const kinds = signature.rest === undefined ? signature.args : [...signature.args, signature.rest, signature.rest];
        for (let count = kinds.length - (signature.optional ?? 0); count <= kinds.length; count++) {
          let calls: string[][] = [[]];
          for (const kind of kinds.slice(0, count)) calls = calls.flatMap((c) => options[kind]!.map((o) => [...c, o]));
          for (const args of calls.slice(0, 300)) {
            const text = `${name}(${args.join(', ')})`;
            let sql: string;
            try {
              sql = compile(text).sql;
            } catch {
              continue; // refused at plan: fine
            }
            await db.run(`SELECT TRY(${sql}) FROM r`).catch((error: Error) => failed.push(`${text}: ${error.message.split('\n')[0]}`));
          }
        }
      }
    } finally {
      db.closeSync();
      instance.closeSync();
    }
    expect(failed).toEqual([]);
  });

  test('CAST of a string to a timestamp or date applies its UTC offset, as ingest reads an event time', async () => {
    // DuckDB's CAST(... AS TIMESTAMP) drops the offset: '10:00+05:30' became 10:00 UTC, while the
    // same text as a pushed event time is 04:30 UTC.
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run("SET TimeZone = 'UTC'");
      const value = async (text: string) => {
        const reader = await db.runAndReadAll(`SELECT TRY(${compile(text).sql})::VARCHAR AS v FROM (VALUES ('2024-01-01T23:00:00-05:00'), ('2024-01-01 10:00:00'), ('x')) t(channel)`);
        return reader.getRowObjects().map((r) => r.v);
      };
      expect(await value('CAST(channel AS TIMESTAMP)')).toEqual(['2024-01-02 04:00:00', '2024-01-01 10:00:00', null]);
      expect(await value('channel::DATE')).toEqual(['2024-01-02', '2024-01-01', null]);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});
