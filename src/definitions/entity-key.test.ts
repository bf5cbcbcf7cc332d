import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import { entityKey, entityKeySql } from './entity-key.js';

const BIG = 9007199254740993n; // 2^53 + 1: not a double

const pairs: Array<[string, string | bigint, 'VARCHAR' | 'BIGINT']> = [
  ['', '', 'VARCHAR'],
  ['a:b', 'c', 'VARCHAR'],
  ['a', 'b:c', 'VARCHAR'],
  ['1:a', '1:', 'VARCHAR'],
  ['é', '😀x', 'VARCHAR'],
  ['e\u0301', '日本', 'VARCHAR'],
  ["it's", '"q"', 'VARCHAR'],
  ['u1', BIG, 'BIGINT'],
  ['u1', -BIG, 'BIGINT'],
];

describe('entity key', () => {
  test('one key encodes as the value as text, as it always has', () => {
    expect(entityKey(['c1'])).toBe('c1');
    expect(entityKey([42])).toBe('42');
    expect(entityKey([BIG])).toBe('9007199254740993');
    expect(entityKeySql(['"customer_id"'])).toBe('CAST("customer_id" AS VARCHAR)');
  });

  test('composite keys never collide when parts contain the separator', () => {
    expect(entityKey(['a:b', 'c'])).not.toBe(entityKey(['a', 'b:c']));
    expect(entityKey(['', 'x'])).not.toBe(entityKey(['x', '']));
    expect(entityKey(['1:a', '1:'])).not.toBe(entityKey(['1', 'a1:']));
  });

  test('SQL and JS encodings agree on tricky values, int64 beyond 2^53 included', async () => {
    const engine = await duckDbEngine({ threads: 1 });
    try {
      for (const [a, b, type] of pairs) {
        const lit = (v: string | bigint) => (typeof v === 'bigint' ? `${v}::BIGINT` : `'${v.replaceAll("'", "''")}'`);
        await engine.run(`CREATE OR REPLACE TEMP TABLE t AS SELECT ${lit(a)}::VARCHAR AS a, ${lit(b)}::${type} AS b`);
        const [row] = await engine.all<{ k: string; one: string }>(`SELECT ${entityKeySql(['a', 'b'])} AS k, ${entityKeySql(['b'])} AS one FROM t`);
        expect(row!.k).toBe(entityKey([a, b]));
        expect(row!.one).toBe(entityKey([b]));
        if (typeof b === 'bigint') expect(row!.k).toBe(entityKey([a, String(b)]));
      }
      const [nulls] = await engine.all<{ k: string | null }>(`SELECT ${entityKeySql(["'a'", 'NULL::VARCHAR'])} AS k`);
      expect(nulls!.k).toBeNull();
    } finally {
      await engine.close();
    }
  });

  test('byte lengths count UTF-8 as TextEncoder does, lone surrogates included', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), (a, b) => {
      const length = (s: string) => new TextEncoder().encode(s).length;
      expect(entityKey([a, b])).toBe(`${length(a)}:${a}${length(b)}:${b}`);
    }), { numRuns: 2000 });
    expect(entityKey(['\ud800', 'x\udc00\ud83d\ude00'])).toBe('3:\ud8008:x\udc00\ud83d\ude00');
  });

  const part = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('', ':', '1:', ':1', '2:ab'));
  test('distinct tuples of random unicode parts give distinct keys', () => {
    fc.assert(fc.property(fc.array(part, { minLength: 2, maxLength: 3 }), fc.array(part, { minLength: 2, maxLength: 3 }), (a, b) => {
      if (JSON.stringify(a) !== JSON.stringify(b)) expect(entityKey(a)).not.toBe(entityKey(b));
    }), { numRuns: 2000 });
  });

  test('the engine computes the same key as JavaScript for random unicode parts', async () => {
    const engine = await duckDbEngine({ threads: 1 });
    try {
      await fc.assert(fc.asyncProperty(fc.array(fc.tuple(part, part, part), { minLength: 1, maxLength: 20 }), async (rows) => {
        await engine.run('CREATE OR REPLACE TEMP TABLE r (i INTEGER, a VARCHAR, b VARCHAR, c VARCHAR)');
        await engine.appendText('r', rows.map((row, i) => [String(i), ...row]));
        const keys = await engine.all<{ k: string }>(`SELECT ${entityKeySql(['a', 'b', 'c'])} AS k FROM r ORDER BY i`);
        expect(keys.map((k) => k.k)).toEqual(rows.map((row) => entityKey(row)));
      }), { numRuns: 50 });
    } finally {
      await engine.close();
    }
  });
});
