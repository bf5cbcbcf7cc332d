import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Transform } from '../../definitions/index.js';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../../storage/engine/sql-engine.js';
import { checkTransformSql } from './sandbox-sql.js';

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
});
afterAll(async () => engine.close());

const transform = (sql: string): Transform => ({ name: 't', inputs: ['payments', 'accounts'], sql, timestamp: 'ts', schema: { ts: 'timestamp' }, hash: 'h' });
const check = (sql: string) => checkTransformSql(engine, transform(sql));

describe('a transform\'s SQL reads only its declared inputs', () => {
  test.each([
    ['SELECT p.*, a.tier FROM payments p JOIN accounts a USING (account_id)'],
    ['SELECT * FROM PAYMENTS'],
    ['WITH recent AS (SELECT * FROM payments WHERE amount > 1) SELECT r.*, row_number() OVER (PARTITION BY account_id ORDER BY ts) AS n FROM recent r'],
    ['SELECT * FROM payments WHERE account_id IN (SELECT account_id FROM accounts WHERE tier = \'gold\')'],
    ['SELECT account_id, max(ts) AS ts FROM payments GROUP BY ALL UNION ALL SELECT account_id, ts FROM accounts'],
    ['WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r, payments'],
    ['SELECT upper(account_id), coalesce(amount, 0) * 2, strftime(ts, \'%Y\') FROM payments;'],
    ['SELECT p.account_id, d.day FROM payments p, range(3) d(day)'],
    ['SELECT p.account_id, x FROM payments p, unnest([1, 2]) t(x)'],
  ])('allowed: %s', async (sql) => {
    await expect(check(sql)).resolves.toMatch(/^\(?(SELECT|WITH)/);
  });

  test.each([
    ["SELECT * FROM read_csv('/etc/passwd')", 'the table function read_csv() (table functions read files and the catalog) is not allowed'],
    ["SELECT * FROM payments, read_parquet('/tmp/other.parquet')", 'the table function read_parquet()'],
    ["SELECT * FROM glob('/home/*')", 'the table function glob()'],
    ["SELECT content AS x FROM read_text('/etc/hostname')", 'the table function read_text()'],
    ['SELECT * FROM duckdb_tables()', 'the table function duckdb_tables()'],
    ["SELECT * FROM payments WHERE account_id IN (SELECT * FROM read_csv('/etc/passwd'))", 'the table function read_csv()'],
    ["SELECT * FROM '/etc/passwd'", 'reading "/etc/passwd", which is not one of its inputs'],
    ["SELECT * FROM 'data.csv'", 'reading "data.csv", which is not one of its inputs'],
    ['SELECT * FROM information_schema.tables', 'reading table "information_schema.tables" (catalog and schema tables'],
    ['SELECT * FROM sqlite_master', 'reading "sqlite_master", which is not one of its inputs'],
    ['SELECT * FROM other_source', 'reading "other_source", which is not one of its inputs'],
    ['SELECT * FROM main.payments', 'reading table "main.payments"'],
    ['SELECT * FROM (WITH sqlite_master AS (SELECT 1) SELECT * FROM sqlite_master) a, sqlite_master b', 'reading "sqlite_master", which is not one of its inputs'],
    ["SELECT getenv('HOME') AS ts FROM payments", 'the function getenv()'],
    ["SELECT current_setting('allowed_paths') AS ts FROM payments", 'the function current_setting()'],
    ["SELECT json_execute_serialized_sql('x') AS ts FROM payments", 'the function json_execute_serialized_sql()'],
    ["SELECT main.getenv('HOME') AS ts FROM payments", 'the function getenv()'],
    ["SELECT getvariable('x') AS id FROM payments", 'the function getvariable()'],
    ["SELECT which_secret('s3://bucket/x', 's3') AS id FROM payments", 'the function which_secret()'],
    ['SELECT current_query() AS id FROM payments', 'the function current_query()'],
    ['SELECT txid_current() AS id FROM payments', 'the function txid_current()'],
    ['DESCRIBE payments', 'DESCRIBE, SHOW and SUMMARIZE'],
    ['SELECT account_id, now() AS ts FROM payments', 'the function now() (it is not deterministic'],
    ['SELECT * FROM payments WHERE random() < 0.5', 'the function random() (it is not deterministic'],
    ['SELECT account_id, current_timestamp AS ts FROM payments', 'CURRENT_TIMESTAMP (it is not deterministic'],
    ['SELECT uuid() AS id FROM payments', 'the function uuid() (it is not deterministic'],
    ['SELECT * FROM payments USING SAMPLE 10%', 'USING SAMPLE and TABLESAMPLE'],
    ['SELECT * FROM payments TABLESAMPLE 5 ROWS', 'USING SAMPLE and TABLESAMPLE'],
    ['SUMMARIZE payments', 'DESCRIBE, SHOW and SUMMARIZE'],
  ])('refused: %s', async (sql, capability) => {
    await expect(check(sql)).rejects.toThrow(capability);
    await expect(check(sql)).rejects.toThrow(/a transform reads only its declared inputs \(payments, accounts\), named as tables/);
    await expect(check(sql)).rejects.toMatchObject({ code: 'POLICY_DENIED' });
  });

  test.each([
    ["COPY payments TO '/tmp/out.csv'", 'COPY'],
    ["ATTACH '/tmp/other.db' AS other", 'ATTACH'],
    ['INSTALL httpfs', 'INSTALL'],
    ['LOAD httpfs', 'LOAD'],
    ['PRAGMA database_list', 'PRAGMA'],
    ["SET allowed_paths = ['/']", 'SET'],
    ['CREATE TABLE x AS SELECT * FROM payments', 'CREATE'],
    ['DROP TABLE payments', 'DROP'],
    ['INSERT INTO payments SELECT * FROM payments', 'INSERT'],
    ["CALL pragma_version()", 'CALL'],
    ['EXPORT DATABASE \'/tmp/db\'', 'EXPORT'],
  ])('refused statement: %s', async (sql, keyword) => {
    await expect(check(sql)).rejects.toThrow(`transform "t": ${keyword} is not allowed; a transform's SQL is one SELECT query over its inputs`);
    await expect(check(sql)).rejects.toMatchObject({ code: 'POLICY_DENIED' });
  });

  test('more than one statement is refused, whatever the statements', async () => {
    await expect(check('SELECT * FROM payments; SELECT * FROM accounts')).rejects.toThrow('transform "t": multiple statements (2) are not allowed');
    await expect(check("SELECT * FROM payments; COPY payments TO '/tmp/x.csv'")).rejects.toThrow('a statement that is not a SELECT is not allowed');
  });

  test('what runs is the checked parse tree printed back, not the text', async () => {
    expect(await check('select * from payments  -- a comment')).toBe('SELECT * FROM payments');
  });
});
