import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { duckDbEngine } from './duckdb-engine.js';
import type { SqlEngine } from './sql-engine.js';
import { withoutFinalSemicolon } from './stream-end.js';

describe('withoutFinalSemicolon', () => {
  test.each([
    ['SELECT 1', 'SELECT 1'],
    ['SELECT 1;', 'SELECT 1'],
    ['SELECT 1 ;  \n', 'SELECT 1   \n'],
    ['SELECT 1; -- done;', 'SELECT 1 -- done;'],
    ['SELECT 1 -- done;', 'SELECT 1 -- done;'],
    ['SELECT 1; /* a /* nested; */ comment; */', 'SELECT 1 /* a /* nested; */ comment; */'],
    ["SELECT ';'", "SELECT ';'"],
    ["SELECT 'it''s;'", "SELECT 'it''s;'"],
    ["SELECT E'a\\';' ;", "SELECT E'a\\';' "],
    ['SELECT 1 AS ";"', 'SELECT 1 AS ";"'],
    ['SELECT $$;$$', 'SELECT $$;$$'],
    ['SELECT $x$ ; $x$;', 'SELECT $x$ ; $x$'],
    ['SELECT ?;', 'SELECT ?'],
  ])('%j', (sql, expected) => {
    expect(withoutFinalSemicolon(sql)).toBe(expected);
  });
});

describe('streamChunks: every row, in order, then nothing (the end marker is never seen)', () => {
  let engine: SqlEngine;
  let raw: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    engine = await duckDbEngine({ threads: 4, memoryLimit: '1GiB' });
    raw = await DuckDBInstance.create(':memory:');
    connection = await raw.connect();
    for (const run of [(sql: string) => engine.run(sql), (sql: string) => connection.run(sql)]) {
      await run('SET threads = 4');
      await run('CREATE TABLE t AS SELECT i, (hash(i) % 100000)::BIGINT AS k, (i * 7 % 1000)::DOUBLE / 8 AS v FROM range(1200000) t(i)');
    }
  });
  afterAll(async () => {
    await engine?.close();
    connection?.closeSync();
    raw?.closeSync();
  });

  /** The rows' digest and count as the engine streams them, and as DuckDB streams the query itself (no marker). */
  const digests = async (sql: string, ownSession = false) => {
    const streamed = createHash('sha256');
    let rows = 0;
    for await (const chunk of engine.streamChunks(sql, { ownSession })) {
      const columns = [0, 1, 2].map((c) => chunk.column(c));
      for (let r = 0; r < chunk.rowCount; r++) for (const column of columns) streamed.update(`${String(column.get(r))},`);
      rows += chunk.rowCount;
    }
    const direct = createHash('sha256');
    let directRows = 0;
    const result = await connection.stream(sql);
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const columns = [0, 1, 2].map((c) => chunk!.getColumnVector(c));
      for (let r = 0; r < chunk.rowCount; r++) for (const column of columns) { const v = column.getItem(r); direct.update(`${typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : String(v)},`); }
      directRows += chunk.rowCount;
    }
    return { engine: [streamed.digest('hex'), rows], direct: [direct.digest('hex'), directRows] };
  };

  test.each([
    ['a parallel scan', 'SELECT i, k, v FROM t WHERE i % 3 <> 0'],
    ['a parallel sort', 'SELECT k, i, v FROM t ORDER BY k, i'],
    ['a sort on a session of its own', 'SELECT k, i, v FROM t ORDER BY k DESC, i', true],
    ['an aggregate, sorted', 'SELECT k, count(*) AS n, sum(i) AS s FROM t GROUP BY k ORDER BY k'],
    ['a join, sorted, with a limit', 'SELECT a.i, b.k, a.v FROM t a JOIN (SELECT DISTINCT k FROM t) b ON a.k = b.k ORDER BY a.i DESC LIMIT 800000'],
    ['a window, with a final semicolon and comment', 'SELECT i, k, row_number() OVER (PARTITION BY k ORDER BY i) AS r FROM t WHERE i < 500000 ORDER BY i; -- last'],
  ])('%s, twice at 4 threads: byte for byte the rows DuckDB streams itself', async (_what, sql, ownSession = false) => {
    for (let round = 0; round < 2; round++) {
      const { engine: streamed, direct } = await digests(sql, ownSession);
      expect(streamed).toEqual(direct);
    }
  });

  test('a result with no rows yields no chunk; a trailing comment does not take the marker', async () => {
    let chunks = 0;
    for await (const chunk of engine.streamChunks('SELECT i FROM t WHERE false -- nothing')) chunks += chunk.rowCount >= 0 ? 1 : 0;
    expect(chunks).toBe(0);
  });

  test('insertion order is preserved (the end marker comes last only then)', async () => {
    expect(await engine.all("SELECT current_setting('preserve_insertion_order') AS p")).toEqual([{ p: true }]);
  });
});
