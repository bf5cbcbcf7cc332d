import { SKETCH_MIN_MAGNITUDE, sketchKey, sketchValue, toSketch, type ColumnProfile, type NumericProfile } from './column-profile.js';

/**
 * The proportion given to an empty bin before PSI takes its logarithm: each side's proportions
 * become `(p + ε) / (1 + k·ε)` over its `k` bins, so an empty bin scores as a very rare one
 * instead of an infinite PSI. Jensen-Shannon needs no epsilon (0·ln 0 = 0).
 */
export const EMPTY_BIN_EPSILON = 1e-4;

export type DriftMetric = 'psi' | 'js';

/** Two distributions over the same bins, as proportions (each sums to 1). */
export interface Binned {
  /**
   * Bin labels: for numbers `= e` (the reference sketch's bucket holding e, values within its
   * relative accuracy of 0.5%) and the open ranges `< e`, `> e and < f`, `> e`, where e is the
   * shortest decimal in the bucket (5, not the bucket's representative value 4.9778...); for
   * categories the value (or `(other)`).
   */
  readonly bins: readonly string[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

/**
 * The shortest decimal in the sketch bucket of `value` (a bucket's representative value, such as
 * 4.977863958589642 for the bucket holding 5): the number a user wrote, when it is in the bucket.
 */
function bucketLabel(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  const key = sketchKey(magnitude);
  for (let digits = 1; digits <= 17; digits++) {
    const shortest = Number(magnitude.toPrecision(digits));
    if (shortest > SKETCH_MIN_MAGNITUDE && sketchKey(shortest) === key) return `${value < 0 ? '-' : ''}${shortest}`;
  }
  return String(value);
}

/**
 * Each side's shares over the reference's deciles, read from its sketch as buckets: each distinct
 * decile bucket is a bin of its own (`= e`), and the open ranges below, between and above them are
 * bins too (`< e1`, `> e1 and < e2`, `> e9`), so values below, at and above a repeated decile
 * stay apart. Bins empty on both sides are left out. Both sides' values are placed by their
 * sketch buckets, so a value falls in the same bin on either side.
 */
function numericBins(reference: NumericProfile, current: NumericProfile): Binned {
  const sketch = toSketch(reference);
  const edges = [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => sketch.getValueAtQuantile(d / 10)))].sort((a, b) => a - b);
  // Bin 2i+1 holds the values of edge i's bucket, bin 2i those between edge i-1 and edge i.
  const binOf = (value: number) => {
    let lo = 0, hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (value <= edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo < edges.length && edges[lo] === value ? 2 * lo + 1 : 2 * lo;
  };
  const counts = (profile: NumericProfile) => {
    const bins = new Array<number>(2 * edges.length + 1).fill(0);
    for (const [key, n] of profile.positive) bins[binOf(sketchValue(key))]! += n;
    for (const [key, n] of profile.negative) bins[binOf(-sketchValue(key))]! += n;
    bins[binOf(0)]! += profile.zero;
    return bins.map((n) => n / profile.count);
  };
  const shown = edges.map(bucketLabel);
  const labels = [`< ${shown[0]}`];
  shown.forEach((edge, i) => labels.push(`= ${edge}`, i + 1 < shown.length ? `> ${edge} and < ${shown[i + 1]}` : `> ${edge}`));
  const ref = counts(reference), cur = counts(current);
  const kept = labels.map((_, i) => i).filter((i) => ref[i]! > 0 || cur[i]! > 0);
  return { bins: kept.map((i) => labels[i]!), reference: kept.map((i) => ref[i]!), current: kept.map((i) => cur[i]!) };
}

const OTHER = '(other)';

function categoricalBins(reference: Extract<ColumnProfile, { kind: 'categorical' }>, current: Extract<ColumnProfile, { kind: 'categorical' }>): Binned {
  const labels = [...new Set([...Object.keys(reference.top), ...Object.keys(current.top)])].sort();
  const other = reference.other > 0 || current.other > 0;
  const side = (p: typeof reference) => [...labels.map((c) => (p.top[c] ?? 0) / p.count), ...(other ? [p.other / p.count] : [])];
  return { bins: other ? [...labels, OTHER] : labels, reference: side(reference), current: side(current) };
}

/**
 * The two sides' proportions over common bins: for numbers, the reference's deciles (quantile
 * edges from its sketch) split both sides; for categories, each value in either side's top
 * values, plus the rest (when a side has more than `TOP_K` values). Undefined when a side has no non-null value or the kinds differ.
 *
 * @example
 * const binned = binProfiles(training.columns.amount!, served.columns.amount!);
 */
export function binProfiles(reference: ColumnProfile, current: ColumnProfile): Binned | undefined {
  if (reference.count === 0 || current.count === 0) return undefined;
  if (reference.kind === 'numeric' && current.kind === 'numeric') return numericBins(reference, current);
  if (reference.kind === 'categorical' && current.kind === 'categorical') return categoricalBins(reference, current);
  return undefined;
}

/** Population stability index: `Σ (q - p) ln(q / p)` over bins, with empty bins at {@link EMPTY_BIN_EPSILON}. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  const k = reference.length;
  const smooth = (x: number) => (x + EMPTY_BIN_EPSILON) / (1 + k * EMPTY_BIN_EPSILON);
  let score = 0;
  for (let i = 0; i < k; i++) {
    const p = smooth(reference[i]!);
    const q = smooth(current[i]!);
    score += (q - p) * Math.log(q / p);
  }
  return score;
}

/** Jensen-Shannon divergence (natural log): symmetric, 0 for equal distributions, at most ln 2. */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  let score = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i]!;
    const q = current[i]!;
    const m = (p + q) / 2;
    if (p > 0) score += (p / 2) * Math.log(p / m);
    if (q > 0) score += (q / 2) * Math.log(q / m);
  }
  return Math.max(0, score);
}

/**
 * The drift of `current` from `reference` (the training side) by `metric`; undefined when they
 * cannot be compared (a side without values, or different kinds).
 *
 * @example
 * driftScore(training.columns.amount!, served.columns.amount!, 'psi'); // { score: 0.31, binned }
 */
export function driftScore(reference: ColumnProfile, current: ColumnProfile, metric: DriftMetric): { score: number; binned: Binned } | undefined {
  const binned = binProfiles(reference, current);
  if (!binned) return undefined;
  return { score: metric === 'psi' ? psi(binned.reference, binned.current) : jensenShannon(binned.reference, binned.current), binned };
}
