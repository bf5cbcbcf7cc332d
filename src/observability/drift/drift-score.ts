import { sketchValue, toSketch, type ColumnProfile, type NumericProfile } from './column-profile.js';

/**
 * The proportion given to an empty bin before PSI takes its logarithm: each side's proportions
 * become `(p + ε) / (1 + k·ε)` over its `k` bins, so an empty bin scores as a very rare one
 * instead of an infinite PSI. Jensen-Shannon needs no epsilon (0·ln 0 = 0).
 */
export const EMPTY_BIN_EPSILON = 1e-4;

export type DriftMetric = 'psi' | 'js';

/** Two distributions over the same bins, as proportions (each sums to 1). */
export interface Binned {
  /** Bin labels: `<= edge` / `> edge` for numbers, the value (or `(other)`) for categories. */
  readonly bins: readonly string[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

/** Each side's counts per bin of the reference's deciles: bin k holds values <= edge k (and > edge k-1). */
function numericBins(reference: NumericProfile, current: NumericProfile): Binned {
  const sketch = toSketch(reference);
  const edges = [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => sketch.getValueAtQuantile(d / 10)))].sort((a, b) => a - b);
  const binOf = (value: number) => {
    let lo = 0, hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (value <= edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const counts = (profile: NumericProfile) => {
    const bins = new Array<number>(edges.length + 1).fill(0);
    // Each bucket's representative value stands for its values (within the sketch's relative accuracy).
    for (const [key, n] of profile.positive) bins[binOf(sketchValue(key))]! += n;
    for (const [key, n] of profile.negative) bins[binOf(-sketchValue(key))]! += n;
    bins[binOf(0)]! += profile.zero;
    return bins.map((n) => n / profile.count);
  };
  const labels = [...edges.map((e) => `<= ${e}`), `> ${edges[edges.length - 1]}`];
  return { bins: labels, reference: counts(reference), current: counts(current) };
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
