// Summaries of paired per-round ratios shared by the alternating benches: median, a 95% bootstrap
// interval of the median, interquartile range and range.
import { median } from './server-comparison.js';

export const round3 = (x) => Number(x.toFixed(3));
const quantile = (sorted, q) => {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
};
/** A 95% bootstrap interval of the median (percentile method, 2,000 resamples, seeded: reproducible). */
export const medianInterval = (values) => {
  let seed = 0x2545f491;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const medians = Array.from({ length: 2000 }, () => median(values.map(() => values[Math.floor(random() * values.length)]))).sort((a, b) => a - b);
  return [round3(quantile(medians, 0.025)), round3(quantile(medians, 0.975))];
};
/** Median, its 95% bootstrap interval, interquartile range, range and the values of `values`. */
export const spread = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return { median: round3(median(s)), medianInterval95: medianInterval(values), iqr: [round3(quantile(s, 0.25)), round3(quantile(s, 0.75))], min: round3(s[0]), max: round3(s.at(-1)), perRound: values.map(round3) };
};

/**
 * The orders of `n` modes in a balanced (Williams) Latin square: over all of them each mode takes each
 * place equally often and follows each other mode equally often (n orders for an even n, 2n for an odd
 * n), so whatever a phase leaves to the next one (a flush, a collection, warm caches) falls on every mode
 * alike once the rounds are a multiple of the orders' count.
 */
export function balancedOrders(n) {
  const first = [0];
  for (let k = 1, lo = 1, hi = n - 1; k < n; k++) first.push(k % 2 === 1 ? lo++ : hi--);
  const square = Array.from({ length: n }, (_, shift) => first.map((m) => (m + shift) % n));
  return n % 2 === 0 ? square : [...square, ...square.map((o) => [...o].reverse())];
}
