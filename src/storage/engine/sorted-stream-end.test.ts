import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { duckDbEngine } from './duckdb-engine.js';
import type { SqlEngine } from './sql-engine.js';
import { STREAM_END, withSortedStreamEnd } from './stream-end.js';

// A sorted query that carries its own end marker (`carriesEndMarker`): the marker rides the
// caller's ORDER BY instead of the engine's union after it. The engine hides it and checks it as
// it checks its own; a marker missing, or one that does not sort last, raises.

const ENDED_EARLY = { code: 'ADAPTER_FAILED', message: expect.stringMatching(/ended before its end marker/) };
const ROW_AFTER = { code: 'ADAPTER_FAILED', message: expect.stringMatching(/rows came after the end marker/) };

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 2, memoryLimit: '512MiB' });
  // Enough rows for several chunks; keys with ties, NaN-free doubles, and NULLs in `n`.
  await engine.run(`CREATE TABLE s AS SELECT (hash(i) % 97)::DOUBLE AS k, (i * 7919 % 50000)::DOUBLE AS t, i::DOUBLE AS i, CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 13)::DOUBLE END AS n FROM range(50000) t(i)`);
});
afterAll(async () => engine?.close());

/** Every row the engine streams, as arrays of the first `width` columns, and the width it showed. */
async function rowsOf(sql: string, width: number, options: { ownSession?: boolean; carriesEndMarker?: boolean } = {}): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for await (const chunk of engine.streamChunks(sql, options)) {
    const columns = Array.from({ length: width }, (_, c) => chunk.column(c));
    for (let r = 0; r < chunk.rowCount; r++) rows.push(columns.map((column) => column.get(r)));
  }
  return rows;
}

describe('a sorted query that carries its end marker', () => {
  test.each([
    ['two ascending keys, ties on the first', 'SELECT k, t, i FROM s', 'k, t, i', "'Infinity'::DOUBLE AS k"],
    ['a descending key', 'SELECT k, t, i FROM s', 'k DESC, t, i', "'-Infinity'::DOUBLE AS k"],
    ['NULL keys sorted first', 'SELECT n, i FROM s', 'n NULLS FIRST, i', "'Infinity'::DOUBLE AS n"],
    ['NULL keys sorted last after a descending key', 'SELECT n, i FROM s', 'n DESC NULLS LAST, i DESC', "NULL AS n, -1::DOUBLE AS i"],
    ['a tie on every key but the last', 'SELECT k, t, i FROM s', 'k, t, i', "96::DOUBLE AS k, 'Infinity'::DOUBLE AS t"],
  ])('%s: the same rows in the same order as the query without it, the marker unseen', async (_what, rows, orderBy, marker) => {
    const plain = await engine.all<Record<string, unknown>>(`${rows} ORDER BY ${orderBy}`);
    const width = Object.keys(plain[0]!).length;
    for (const ownSession of [false, true]) {
      const streamed = await rowsOf(withSortedStreamEnd(rows, orderBy, marker), width, { carriesEndMarker: true, ownSession });
      expect(streamed).toEqual(plain.map((row) => Object.values(row)));
    }
  });

  test('the marker column is hidden past the query own columns: a chunk reads the same columns as without it', async () => {
    let widest = 0;
    for await (const chunk of engine.streamChunks(withSortedStreamEnd('SELECT k, i FROM s', 'k, i', "'Infinity'::DOUBLE AS k"), { carriesEndMarker: true })) {
      expect(chunk.column(1).get(chunk.rowCount - 1)).not.toBeNull();
      widest = Math.max(widest, chunk.rowCount);
    }
    expect(widest).toBeGreaterThan(0);
  });

  test('a result that ends without its marker raises, after the rows before', async () => {
    const cut = `SELECT * FROM (${withSortedStreamEnd('SELECT k, i FROM s', 'k, i', "'Infinity'::DOUBLE AS k")}) WHERE NOT ${STREAM_END}`;
    let seen = 0;
    const read = async () => {
      for await (const chunk of engine.streamChunks(cut, { carriesEndMarker: true })) seen += chunk.rowCount;
    };
    await expect(read()).rejects.toMatchObject(ENDED_EARLY);
    expect(seen).toBe(50000);
  });

  test.each([
    ['sorted first', "'-Infinity'::DOUBLE AS k"],
    ['in the middle of a chunk', '0.5::DOUBLE AS k'],
    ['before NULL keys (NULLs last by default)', "'Infinity'::DOUBLE AS k"],
  ])('a marker %s raises: a row after it, never a stream ended short', async (what, marker) => {
    const rows = what.startsWith('before NULL') ? 'SELECT n AS k, i FROM s' : 'SELECT k, i FROM s';
    await expect(rowsOf(withSortedStreamEnd(rows, 'k, i', marker), 2, { carriesEndMarker: true })).rejects.toMatchObject(ROW_AFTER);
  });

  test('a query whose last column is not the marker is refused (the engine would read a column of rows as the marker)', async () => {
    await expect(rowsOf('SELECT k, i FROM s ORDER BY k', 2, { carriesEndMarker: true })).rejects.toMatchObject({ code: 'ADAPTER_FAILED', message: expect.stringMatching(/last column/) });
  });

  test('rows whose marker is NULL are rows, not the marker', async () => {
    const sql = `SELECT * FROM (SELECT i::DOUBLE AS i, NULL::BOOLEAN AS ${STREAM_END} FROM range(5000) t(i) UNION ALL SELECT 'Infinity'::DOUBLE, true) ORDER BY i`;
    const rows = await rowsOf(sql, 1, { carriesEndMarker: true });
    expect(rows).toHaveLength(5000);
    expect(rows[4999]).toEqual([4999]);
  });

  test('property: random keys with ties, the sweep query shape (first key finite, +Infinity marker): the rows as the plain sort gives them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: -3, max: 3 }), fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null })), { maxLength: 300 }), async (rows) => {
        const values = rows.length === 0 ? 'SELECT 0::DOUBLE AS k, 0::DOUBLE AS v, 0 AS id WHERE false' : `SELECT k::DOUBLE AS k, v::DOUBLE AS v, id FROM (VALUES ${rows.map(([k, v], id) => `(${k}, ${v === null ? 'NULL' : `'${v}'`}, ${id})`).join(', ')}) r(k, v, id)`;
        const plain = await engine.all<Record<string, unknown>>(`${values} ORDER BY k, v NULLS FIRST, id`);
        const streamed = await rowsOf(withSortedStreamEnd(values, 'k, v NULLS FIRST, id', "'Infinity'::DOUBLE AS k, 0::DOUBLE AS v, 0 AS id"), 3, { carriesEndMarker: true });
        expect(streamed).toEqual(plain.map((row) => [row.k, row.v, row.id]));
      }),
      { numRuns: 60 },
    );
  });
});
