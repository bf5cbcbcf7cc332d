import fc from 'fast-check';
import { expect, test } from 'vitest';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import { isoTimestampSql, parseTimestampSql, toIso } from './index.js';

// A dataset written as CSV or JSONL formats its timestamp features in SQL; online answers format
// them with `toIso` (Date#toISOString). Both must write the same text for every time both can hold.
test('isoTimestampSql writes exactly what toIso writes, years before 0 and after 9999 included', async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    const edges = [0, -1, 1, -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000, -62_198_755_200_000, 8.64e15, -8.64e15, Date.UTC(999, 0, 1)];
    const random = fc.sample(fc.integer({ min: -8.64e15, max: 8.64e15 }), 300);
    const times = [...edges, ...random];
    const rows = await engine.all<{ i: number; iso: string }>(
      `SELECT i, ${isoTimestampSql('make_timestamp(ms * 1000)')} AS iso FROM (SELECT unnest(range(${times.length})) AS i, unnest([${times.map((t) => `${t}::BIGINT`).join(',')}]) AS ms) ORDER BY i`,
    );
    expect(rows.map((r) => r.iso)).toEqual(times.map((t) => toIso(t)));
  } finally {
    await engine.close();
  }
});

test('parseTimestampSql reads back every time toIso writes, the expanded years included', async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    const times = [0, -1, 253_402_300_800_000, -62_198_755_200_000, 8.64e15, -8.64e15, ...fc.sample(fc.integer({ min: -8.64e15, max: 8.64e15 }), 200)];
    const texts = times.map((t) => toIso(t));
    const rows = await engine.all<{ i: number; ms: number | bigint | null }>(
      `SELECT i, ${parseTimestampSql('t')} AS ms FROM (SELECT unnest(range(${texts.length})) AS i, unnest([${texts.map((t) => `'${t}'`).join(',')}]) AS t) ORDER BY i`,
    );
    expect(rows.map((r) => (r.ms === null ? null : Number(r.ms)))).toEqual(times);
    // One sign, followed by a digit: what Date#toISOString writes, nothing laxer.
    const [odd] = await engine.all<{ a: unknown; b: unknown }>(`SELECT ${parseTimestampSql("'++2024-01-01'")} AS a, ${parseTimestampSql("'+ 2024-01-01'")} AS b`);
    expect(odd).toEqual({ a: null, b: null });
  } finally {
    await engine.close();
  }
});
