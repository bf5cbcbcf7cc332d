import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { removedSequences } from './sequence-gaps.js';

describe('removedSequences', () => {
  test('a jump below the oldest sequence the stream holds is removed; one at or above it is another subject', () => {
    expect(removedSequences([{ from: 4, to: 8 }], 9)).toEqual([{ from: 4, to: 8 }]);
    expect(removedSequences([{ from: 4, to: 8 }], 6)).toEqual([{ from: 4, to: 5 }]);
    expect(removedSequences([{ from: 4, to: 8 }], 4)).toEqual([]);
    expect(removedSequences([{ from: 4, to: 5 }, { from: 6, to: 7 }, { from: 10, to: 11 }], 20)).toEqual([{ from: 4, to: 7 }, { from: 10, to: 11 }]);
  });

  test('against a brute-force reference: exactly the undelivered sequences below firstSeq', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 60 })), fc.integer({ min: 1, max: 70 }), (delivered, firstSeq) => {
      const seqs = [...delivered].sort((a, b) => a - b);
      const jumps = seqs.flatMap((s, i) => ((i === 0 ? 1 : seqs[i - 1]! + 1) < s ? [{ from: i === 0 ? 1 : seqs[i - 1]! + 1, to: s - 1 }] : []));
      const expected = new Set<number>();
      for (let s = 1; s <= (seqs.at(-1) ?? 0); s++) if (!seqs.includes(s) && s < firstSeq) expected.add(s);
      const got = removedSequences(jumps, firstSeq).flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, k) => r.from + k));
      expect(got).toEqual([...expected]);
    }));
  });
});
