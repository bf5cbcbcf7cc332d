import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { allowedValues, compileChecks, notNull, range, rowCount, unique, type Schema } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { evaluateChecks } from './evaluate-checks.js';

const schema: Schema = { id: 'string', amount: 'float64', channel: 'string' };
const CHANNELS = ['web', 'pos', 'atm', 'fax'];
let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
});
afterAll(async () => engine.close());

interface Row { id: string | null; amount: number | null; channel: string | null }

/** The reference: each check's failing rows and verdict counted row by row in plain JavaScript, sharing no code with the platform. */
function reference(rows: readonly Row[], p: { min: number; max: number; allowed: string[]; mostly: number; minRows: number; maxRows: number }) {
  const total = rows.length;
  const verdict = (failing: number) => ({ failing, passed: total === 0 || (total - failing) / total >= p.mostly });
  const ids = new Map<string, number>();
  for (const r of rows) if (r.id !== null) ids.set(r.id, (ids.get(r.id) ?? 0) + 1);
  return {
    amount_not_null: verdict(rows.filter((r) => r.amount === null).length),
    amount_range: verdict(rows.filter((r) => r.amount !== null && (r.amount < p.min || r.amount > p.max)).length),
    channel_allowed_values: verdict(rows.filter((r) => r.channel !== null && !p.allowed.includes(r.channel)).length),
    id_unique: verdict([...ids.values()].filter((n) => n > 1).reduce((a, b) => a + b, 0)),
    row_count: { failing: 0, passed: total >= p.minRows && total <= p.maxRows },
  };
}

test('one-scan evaluation agrees with a row-by-row reference on random batches', async () => {
  const row = fc.record({
    id: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), { nil: null }),
    amount: fc.option(fc.integer({ min: -50, max: 50 }).map((n) => n / 2), { nil: null }),
    channel: fc.option(fc.constantFrom(...CHANNELS), { nil: null }),
  });
  const params = fc.record({
    min: fc.integer({ min: -20, max: 0 }), max: fc.integer({ min: 0, max: 20 }), allowed: fc.subarray(CHANNELS, { minLength: 1 }),
    mostly: fc.constantFrom(1, 0.9, 0.5), minRows: fc.integer({ min: 0, max: 5 }), maxRows: fc.integer({ min: 5, max: 30 }),
  });
  await fc.assert(fc.asyncProperty(fc.array(row, { maxLength: 30 }), params, async (rows, p) => {
    const checks = compileChecks({ where: 'source "s"', schema }, [
      notNull('amount', { mostly: p.mostly }), range('amount', { min: p.min, max: p.max, mostly: p.mostly }), allowedValues('channel', p.allowed, { mostly: p.mostly }),
      unique('id', { mostly: p.mostly }), rowCount({ min: p.minRows, max: p.maxRows }),
    ]);
    const values = rows.map((r) => `(${r.id === null ? 'NULL' : `'${r.id}'`}, ${r.amount === null ? 'NULL' : r.amount}::DOUBLE, ${r.channel === null ? 'NULL' : `'${r.channel}'`})`);
    const relation = values.length === 0 ? 'SELECT NULL::VARCHAR AS id, NULL::DOUBLE AS amount, NULL::VARCHAR AS channel WHERE false' : `SELECT * FROM (VALUES ${values.join(', ')}) AS t(id, amount, channel)`;
    const { results, profile } = await evaluateChecks(engine, { dataset: 's', schema, checks }, relation, { now: 0 });
    const expected = reference(rows, p);
    expect(Object.fromEntries(results.map((r) => [r.check, { failing: r.failingRows, passed: r.passed }]))).toEqual(expected);
    expect(profile).toEqual({ rowCount: rows.length, nullCounts: { id: rows.filter((r) => r.id === null).length, amount: rows.filter((r) => r.amount === null).length, channel: rows.filter((r) => r.channel === null).length } });
  }), { numRuns: 150 });
});
