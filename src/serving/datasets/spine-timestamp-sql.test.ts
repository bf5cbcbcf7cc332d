import { expect, test } from 'vitest';
import { requestValue, requestValueSql } from '../../processing/request-features.js';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import { literal } from '../../storage/engine/sql-engine.js';
import { parseTimestampOrEpochSql } from './spine-timestamp-sql.js';

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
      const [row] = await engine.all<{ v: number }>(`SELECT ${parseTimestampOrEpochSql(`'${text}'`, unit)} AS v`);
      expect({ text, unit, v: row!.v }).toEqual({ text, unit, v: ms });
    }
  } finally {
    await engine.close();
  }
});

// One text rule for a spine: its `ts` column and a request view's timestamp field in the same
// file read a text alike (and as an online request reads it): epoch digits by the int64 text
// rule, other text by the request grammar; no surrounding spaces, no DuckDB-only forms.
const TEXTS = [
  '1700000000000', '+1700000000000', '-1', '0', '-0', '007', ' 1700000000000', '1700000000000 ', '1e3', '1.5', '0x10',
  '9007199254740991', '9007199254740992', '-9007199254740992', '99999999999999999999',
  '2024-01-01', ' 2024-01-01', '2024-01-01 ', '2024-01-01T10:00:00Z', '2024-01-01 10:00', '2024-01-01T10:00:00.1239+05:30',
  '1969-12-31T23:59:59.9995Z', '+010000-01-01T00:00:00Z', '2024-02-30', '2026-11-30 10:00:00 UTC', '2024/01/01', '2024-01-01t10:00:00z', '2026-11', '',
];

test('a spine ts text is read exactly as a request timestamp field (SQL and online), padded texts refused', async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    for (const text of TEXTS) {
      const [row] = await engine.all<{ ts: bigint | number | null; field: bigint | number | null }>(
        `SELECT ${parseTimestampOrEpochSql('c', 'ms')} AS ts, ${requestValueSql('c', 'timestamp', 'VARCHAR', 'text')} AS field FROM (SELECT ${literal(text)}::VARCHAR AS c)`,
      );
      const ts = row!.ts === null ? null : Number(row!.ts);
      const field = row!.field === null ? null : Number(row!.field);
      expect({ text, ts }).toEqual({ text, ts: field });
      expect({ text, ts }).toEqual({ text, ts: requestValue(text, 'timestamp') ?? null });
    }
  } finally {
    await engine.close();
  }
});

test('typed spine timestamps (an integer column, SQL timestamps and dates) are read by value', async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    const cases: Array<[string, number]> = [
      ['1700000000000::BIGINT', 1700000000000],
      ["TIMESTAMP '2024-01-01 10:00:00.123'", Date.UTC(2024, 0, 1, 10, 0, 0, 123)],
      ["TIMESTAMPTZ '2024-01-01 10:00:00+00'", Date.UTC(2024, 0, 1, 10)],
      ["DATE '2024-01-01'", Date.UTC(2024, 0, 1)],
      ["TIMESTAMP '10000-01-01 00:00:00'", Date.UTC(10000, 0, 1)],
    ];
    for (const [sql, ms] of cases) {
      const [row] = await engine.all<{ v: number | bigint }>(`SELECT ${parseTimestampOrEpochSql('c', 'ms')} AS v FROM (SELECT ${sql} AS c)`);
      expect({ sql, v: Number(row!.v) }).toEqual({ sql, v: ms });
    }
  } finally {
    await engine.close();
  }
});
