import { expect, test } from 'vitest';
import { DEFAULT_DRIFT } from '../../definitions/index.js';
import { profileValues } from './column-profile.js';
import { chanceScore, compareProfiles, valuesToTell } from './report-drift.js';

/** A seeded normal sample (mulberry32 + Box–Muller), rounded to cents as amounts are: the same every run. */
function gauss(seed: number, n: number, mean: number, sd: number): number[] {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => Math.round((mean + sd * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform())) * 100) / 100);
}
const compare = (reference: number[], current: number[]) =>
  compareProfiles('source:txns', { rows: reference.length, columns: { amount: profileValues(reference, 'numeric') } }, { rows: current.length, columns: { amount: profileValues(current, 'numeric') } }, () => DEFAULT_DRIFT, 0);

// Review rev8: two batches of 400 rows from one gauss(50, 10) scored PSI 0.106 (warn); at 30 to 400 rows
// a same-distribution pair warned 38-100% of the time over the documented bins.
test('a batch too small to tell drift from chance over its bins is skipped with the reason, not scored as noise', () => {
  for (const n of [30, 100, 400]) {
    const { results, skipped } = compare(gauss(1, n, 50, 10), gauss(2, n, 50, 10));
    expect(results).toEqual([]);
    expect(skipped).toEqual([{ feature: 'amount', reason: expect.stringMatching(/^too few values to tell drift from chance: over its \d+ bins, .* about \d+ non-null values on each side are needed$/) }]);
  }
  // A real shift is still told at a size the rule accepts.
  const shifted = compare(gauss(3, 1000, 50, 10), gauss(4, 1000, 56, 10));
  expect(shifted.results.map((r) => r.severity)).toEqual(['error']);
});

test('same-distribution batches at the minimum size the bins need do not warn (seeded, 200 pairs)', () => {
  // Decile bins are at most 19 (9 deciles, each alone, and the ranges around them): the size that suffices for any of them.
  const n = valuesToTell(19, DEFAULT_DRIFT.warn, 'psi');
  expect(chanceScore(19, n, n, 'psi')).toBeLessThan(DEFAULT_DRIFT.warn);
  expect(chanceScore(19, n - 1, n - 1, 'psi')).toBeGreaterThanOrEqual(DEFAULT_DRIFT.warn);
  const severities = new Map<string, number>();
  for (let trial = 0; trial < 200; trial += 1) {
    const { results, skipped } = compare(gauss(1000 + 2 * trial, n, 50, 10), gauss(1001 + 2 * trial, n, 50, 10));
    expect(skipped).toEqual([]);
    for (const r of results) severities.set(r.severity, (severities.get(r.severity) ?? 0) + 1);
  }
  expect(Object.fromEntries(severities)).toEqual({ ok: 200 });
});

// Review rev8: non-finite values were left out of the scoring without a trace.
test('a numeric result counts the non-finite values (NaN, +-Infinity) left out of its bins on each side', () => {
  const reference = [...gauss(7, 1000, 50, 10), Number.NaN, Number.POSITIVE_INFINITY];
  const current = [...gauss(8, 1000, 50, 10), Number.NEGATIVE_INFINITY];
  const { results } = compare(reference, current);
  expect(results).toHaveLength(1);
  expect(results[0]!.details).toMatchObject({ referenceNonFinite: 2, currentNonFinite: 1 });
  expect(results[0]!.referenceCount).toBe(1000);
});
