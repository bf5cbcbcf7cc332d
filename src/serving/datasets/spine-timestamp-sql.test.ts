import { expect, test } from 'vitest';
import { requestValue } from '../../processing/request-features.js';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import { literal } from '../../storage/engine/sql-engine.js';
import { spineTimestampSql } from './spine-timestamp-sql.js';

test('integer epochs: finer units are floored to the millisecond, exactly, never moved later', async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    const cases: Array<[string, 'ns' | 'us' | 's' | 'ms', number]> = [
      ['1704067200123999999', 'ns', 1704067200123],
      ['-1', 'ns', -1],
      ['-1000001', 'ns', -2],
      ['1704067200123999', 'us', 1704067200123],
      ['1704067200', 's', 1704067200000],
      ['1704067200123', 'ms', 1704067200123],
    ];
    for (const [text, unit, ms] of cases) {
      const [row] = await engine.all<{ v: number }>(`SELECT ${spineTimestampSql(`'${text}'`, 'VARCHAR', unit)} AS v`);
      expect({ text, unit, v: row!.v }).toEqual({ text, unit, v: ms });
    }
  } finally {
    await engine.close();
  }
});

// One rule for every timestamp cell of a spine (its `ts` column and a request view's timestamp
// fields alike): text as an online request reads it: epoch digits by the int64 text rule, other
// text by the request grammar; no surrounding spaces, no DuckDB-only forms. Typed cells: see
// test/spine-timestamp-cells.test.ts.
const TEXTS = [
  '1700000000000', '+1700000000000', '-1', '0', '-0', '007', ' 1700000000000', '1700000000000 ', '1e3', '1.5', '0x10',
  '9007199254740991', '9007199254740992', '-9007199254740992', '99999999999999999999',
  '2024-01-01', ' 2024-01-01', '2024-01-01 ', '2024-01-01T10:00:00Z', '2024-01-01 10:00', '2024-01-01T10:00:00.1239+05:30',
  '1969-12-31T23:59:59.9995Z', '+010000-01-01T00:00:00Z', '2024-02-30', '2026-11-30 10:00:00 UTC', '2024/01/01', '2024-01-01t10:00:00z', '2026-11', '',
];

test('a spine timestamp text is read exactly as an online request reads it, padded texts refused', async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    for (const text of TEXTS) {
      const [row] = await engine.all<{ ts: bigint | number | null }>(`SELECT ${spineTimestampSql('c', 'VARCHAR', 'ms')} AS ts FROM (SELECT ${literal(text)}::VARCHAR AS c)`);
      const ts = row!.ts === null ? null : Number(row!.ts);
      expect({ text, ts }).toEqual({ text, ts: requestValue(text, 'timestamp') ?? null });
    }
  } finally {
    await engine.close();
  }
});

test('typed spine timestamps (an integer column, SQL timestamps and dates) are read by value', async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    const cases: Array<[string, string, number]> = [
      ['1700000000000::BIGINT', 'BIGINT', 1700000000000],
      ["TIMESTAMP '2024-01-01 10:00:00.123'", 'TIMESTAMP', Date.UTC(2024, 0, 1, 10, 0, 0, 123)],
      ["TIMESTAMPTZ '2024-01-01 10:00:00+00'", 'TIMESTAMP WITH TIME ZONE', Date.UTC(2024, 0, 1, 10)],
      ["DATE '2024-01-01'", 'DATE', Date.UTC(2024, 0, 1)],
      ["TIMESTAMP '10000-01-01 00:00:00'", 'TIMESTAMP', Date.UTC(10000, 0, 1)],
    ];
    for (const [sql, sqlType, ms] of cases) {
      const [row] = await engine.all<{ v: number | bigint }>(`SELECT ${spineTimestampSql('c', sqlType, 'ms')} AS v FROM (SELECT ${sql} AS c)`);
      expect({ sql, v: Number(row!.v) }).toEqual({ sql, v: ms });
    }
  } finally {
    await engine.close();
  }
});
