import { expect, test } from 'vitest';
import { FreshnessHistogram } from './freshness.js';

test('freshness per view: counts, cumulative buckets, quantiles as bucket bounds never below the truth', () => {
  const h = new FreshnessHistogram();
  for (let i = 0; i < 98; i++) h.observe('v', 1000, 1003);
  h.observe('v', 1000, 1040);
  h.observe('v', 1000, 1700);
  h.observe('w', 5, 4);
  const [v, w] = h.summary();
  expect(v).toMatchObject({ view: 'v', count: 100, p50Ms: 5, p99Ms: 40, maxMs: 700 });
  expect(v!.buckets.find((b) => b.le === 5)!.count).toBe(98);
  expect(v!.buckets.at(-1)).toEqual({ le: '+Inf', count: 100 });
  expect(w).toMatchObject({ count: 1, p99Ms: 0, maxMs: 0 });
});

test('freshness buckets step by 10 ms up to 50 ms, so a p99 near the 50 ms target is reported as it is', () => {
  const h = new FreshnessHistogram();
  for (let i = 0; i < 100; i++) h.observe('v', 0, i < 98 ? 12 : 33);
  const [v] = h.summary();
  expect(v!.buckets.map((b) => b.le).slice(0, 9)).toEqual([1, 2, 5, 10, 20, 30, 40, 50, 75]);
  expect(v).toMatchObject({ p50Ms: 20, p99Ms: 33, maxMs: 33 });
});
