import { describe, expect, test } from 'vitest';
import { compactionGroups, DEFAULT_COMPACTION_POLICY, type CompactionCandidate } from './compaction-plan.js';
import { bucketTag } from './entity-buckets.js';

const policy = { ...DEFAULT_COMPACTION_POLICY, smallFileBytes: 100, minFiles: 3, maxFiles: 10, maxBytes: 1_000 };
const file = (name: string, bytes = 10, schema = 'a:INT'): CompactionCandidate => ({ file: `s/${name}.parquet`, bytes, schema });

describe('compactionGroups', () => {
  test('below the threshold of small files nothing is compacted; at it, the small files are one group in snapshot order', () => {
    expect(compactionGroups([file('a'), file('b')], policy)).toEqual([]);
    expect(compactionGroups([file('a'), file('big', 500), file('b'), file('c')], policy)).toEqual([['s/a.parquet', 's/b.parquet', 's/c.parquet']]);
  });

  test('bucket files of a split batch are never merged; files of another schema form their own group; a lone file is left', () => {
    const bucket = { file: `s/seq0-abc-${bucketTag(['k'], 1, 4)}.parquet`, bytes: 10, schema: 'a:INT' };
    const groups = compactionGroups([file('a'), bucket, file('b'), file('old1', 10, 'a:VARCHAR'), file('old2', 10, 'a:VARCHAR'), file('c'), file('odd', 10, 'x:INT')], policy);
    expect(groups).toEqual([['s/a.parquet', 's/b.parquet', 's/c.parquet'], ['s/old1.parquet', 's/old2.parquet']]);
  });

  test('one pass takes at most maxFiles files and maxBytes bytes (the rest waits for the next pass)', () => {
    const many = Array.from({ length: 30 }, (_, i) => file(`f${i}`, 60));
    expect(compactionGroups(many, policy)[0]).toHaveLength(10);
    expect(compactionGroups(many, { ...policy, maxBytes: 200 })[0]).toEqual(['s/f0.parquet', 's/f1.parquet', 's/f2.parquet']);
  });
});
