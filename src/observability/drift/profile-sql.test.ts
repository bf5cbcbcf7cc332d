import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DEFAULT_DRIFT } from '../../definitions/index.js';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../../storage/engine/sql-engine.js';
import type { ColumnProfile, Profile } from './column-profile.js';
import { profileRelation } from './profile-sql.js';
import { compareProfiles } from './report-drift.js';

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
});
afterAll(async () => engine.close());

/** A batch of one categorical column: `rows` values among `distinct`, every `nullEvery`-th null. */
interface Batch { readonly rows: number; readonly distinct: number; readonly nullEvery: number; readonly seed: number }
const batchSql = ({ rows, distinct, nullEvery, seed }: Batch): string =>
  `(SELECT CASE WHEN i % ${nullEvery} = 0 THEN NULL ELSE 'v' || (hash(i, ${seed}) % ${distinct}) END AS c FROM range(${rows}) r(i))`;

test('a column kept without its top values when wide gives the same batch-to-batch drift results and skips as one fully counted', async () => {
  const batch = fc.record({ rows: fc.integer({ min: 0, max: 3000 }), distinct: fc.constantFrom(1, 5, 40, 99, 100, 101, 150, 400, 5000), nullEvery: fc.integer({ min: 2, max: 50 }), seed: fc.integer({ min: 0, max: 1000 }) });
  let reduced = 0;
  await fc.assert(fc.asyncProperty(fc.array(batch, { minLength: 2, maxLength: 5 }), async (batches) => {
    let full: Profile | undefined;
    let kept: Profile | undefined;
    for (const [i, b] of batches.entries()) {
      const column = [{ name: 'c', kind: 'categorical' as const }];
      const nextFull = await profileRelation(engine, batchSql(b), column);
      // As source batch drift decides: top values are needed only against a narrow previous column.
      const previous: ColumnProfile | undefined = kept?.columns['c'];
      const narrow = previous?.kind === 'categorical' && previous.other === 0;
      const nextKept = await profileRelation(engine, batchSql(b), column, { uncountedWhenWide: new Set(narrow ? [] : ['c']) });
      const k = nextKept.columns['c'];
      if (k?.kind === 'categorical' && Object.keys(k.top).length === 0 && k.count > 0) reduced++;
      if (full && kept) {
        const at = 1000 + i;
        expect(compareProfiles('source:s', kept, nextKept, () => DEFAULT_DRIFT, at)).toEqual(compareProfiles('source:s', full, nextFull, () => DEFAULT_DRIFT, at));
      }
      full = nextFull;
      kept = nextKept;
    }
  }), { numRuns: 40 });
  // The property is not vacuous: wide columns were kept without their top values.
  expect(reduced).toBeGreaterThan(0);
});

test('a unique column is kept without its top values, with exact counts; a narrow one is counted in full', async () => {
  const relation = `(SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE 't' || i END AS id, (['a', 'b'])[1 + i % 2] AS kind FROM range(1000) r(i))`;
  const profile = await profileRelation(engine, relation, [{ name: 'id', kind: 'categorical' }, { name: 'kind', kind: 'categorical' }], { uncountedWhenWide: new Set(['id', 'kind']) });
  expect(profile.columns['id']).toEqual({ kind: 'categorical', count: 900, nulls: 100, top: {}, other: 900 });
  expect(profile.columns['kind']).toEqual({ kind: 'categorical', count: 1000, nulls: 0, top: { a: 500, b: 500 }, other: 0 });
});
