import { DDSketch } from '@datadog/sketches-js';

/**
 * Relative accuracy of numeric sketches: quantiles within 0.5% of the true value. Buckets are
 * then 1% wide, fine enough to bin values whose spread is small against their size (a mean of
 * 100 with a standard deviation of 5), at about 460 buckets per decade of magnitude.
 */
export const RELATIVE_ACCURACY = 0.005;
/** Categories counted exactly per categorical column; the rest are summed in `other`. */
export const TOP_K = 100;

/** Sketch buckets as `[key, count]` pairs, keys as the DDSketch logarithmic mapping gives them. */
export type SketchBins = readonly (readonly [key: number, count: number])[];

/**
 * A numeric column's summary: a DDSketch (relative-accuracy quantiles) in plain JSON, plus
 * counts of nulls and of values no sketch can hold (NaN, +-Infinity).
 */
export interface NumericProfile {
  readonly kind: 'numeric';
  readonly relativeAccuracy: number;
  /** Finite values summarized (the sketch's count). */
  readonly count: number;
  readonly nulls: number;
  readonly nonFinite: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly sum: number;
  /** Values within the mapping's smallest magnitude of 0. */
  readonly zero: number;
  readonly positive: SketchBins;
  readonly negative: SketchBins;
}

/** A categorical (string or bool) column's summary: exact counts of its top `TOP_K` values, the rest in `other`. */
export interface CategoricalProfile {
  readonly kind: 'categorical';
  readonly count: number;
  readonly nulls: number;
  readonly top: Readonly<Record<string, number>>;
  /** Values not among `top`. */
  readonly other: number;
}

export type ColumnProfile = NumericProfile | CategoricalProfile;

/** The summaries of a set of columns (a dataset's features, a batch's columns, served values). */
export interface Profile {
  readonly rows: number;
  readonly columns: Readonly<Record<string, ColumnProfile>>;
}

/** The key mapping every numeric profile shares, from the library (see `sketchKeySql`). */
const mapping = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY }).mapping as DDSketch['mapping'] & { readonly _multiplier: number; readonly _offset: number };

/**
 * The SQL of a value's sketch key (for a value of magnitude above the mapping's smallest):
 * `ceil(log2(|x|) * multiplier) + offset`, with the parameters of the library's logarithmic
 * mapping, so a histogram grouped by it in DuckDB fills the same buckets `accept` would.
 */
export function sketchKeySql(column: string): string {
  return `CAST(ceil(log2(abs(${column})) * ${mapping._multiplier}) + ${mapping._offset} AS BIGINT)`;
}

/** The magnitude at or below which a value counts as 0. */
export const SKETCH_MIN_MAGNITUDE = mapping.minPossible;

/** The representative value of a sketch key (within the relative accuracy of every value in its bucket). */
export function sketchValue(key: number): number {
  return mapping.value(key);
}

/** The sketch key of a value of magnitude above `SKETCH_MIN_MAGNITUDE`. */
export function sketchKey(magnitude: number): number {
  return mapping.key(magnitude);
}

/** A DDSketch holding a profile's buckets, for its quantiles. */
export function toSketch(profile: NumericProfile): DDSketch {
  const sketch = new DDSketch({ relativeAccuracy: profile.relativeAccuracy });
  for (const [key, n] of profile.positive) sketch.store.add(key, n);
  for (const [key, n] of profile.negative) sketch.negativeStore.add(key, n);
  sketch.zeroCount = profile.zero;
  sketch.count = profile.count;
  sketch.sum = profile.sum;
  sketch.min = profile.min ?? Infinity;
  sketch.max = profile.max ?? -Infinity;
  return sketch;
}

function mergeBins(a: SketchBins, b: SketchBins): SketchBins {
  const counts = new Map<number, number>(a.map(([k, n]) => [k, n]));
  for (const [k, n] of b) counts.set(k, (counts.get(k) ?? 0) + n);
  return [...counts].sort((x, y) => x[0] - y[0]);
}

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Keeps the `TOP_K` most frequent categories (ties by name), summing the rest into `other`. */
export function boundCategories(counts: ReadonlyMap<string, number> | Readonly<Record<string, number>>, other: number, nulls: number): CategoricalProfile {
  const entries = counts instanceof Map ? [...counts] : Object.entries(counts);
  entries.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const top = Object.fromEntries(entries.slice(0, TOP_K));
  const rest = entries.slice(TOP_K).reduce((s, [, n]) => s + n, other);
  const count = entries.reduce((s, [, n]) => s + n, other);
  return { kind: 'categorical', count, nulls, top, other: rest };
}

/**
 * Merges two summaries of the same column (e.g. two batches, two days of served values). Numeric
 * sketches merge exactly (bucket counts add); categorical counts add, and a category that is in
 * one side's top values but folded into the other side's `other` keeps only the counted part.
 * Buckets are merged here rather than with `DDSketch.merge`, which in @datadog/sketches-js 2.1.1
 * drops the negative values of the merged sketch.
 *
 * @example
 * const week = mergeColumnProfiles(monday, tuesday);
 */
export function mergeColumnProfiles(a: ColumnProfile, b: ColumnProfile): ColumnProfile {
  if (a.kind === 'numeric' && b.kind === 'numeric') {
    if (a.relativeAccuracy !== b.relativeAccuracy) throw new Error(`cannot merge sketches of relative accuracy ${a.relativeAccuracy} and ${b.relativeAccuracy}`);
    return {
      kind: 'numeric', relativeAccuracy: a.relativeAccuracy, count: a.count + b.count, nulls: a.nulls + b.nulls, nonFinite: a.nonFinite + b.nonFinite,
      min: minOf(a.min, b.min), max: maxOf(a.max, b.max), sum: a.sum + b.sum, zero: a.zero + b.zero,
      positive: mergeBins(a.positive, b.positive), negative: mergeBins(a.negative, b.negative),
    };
  }
  if (a.kind === 'categorical' && b.kind === 'categorical') {
    const counts = new Map(Object.entries(a.top));
    for (const [k, n] of Object.entries(b.top)) counts.set(k, (counts.get(k) ?? 0) + n);
    return boundCategories(counts, a.other + b.other, a.nulls + b.nulls);
  }
  throw new Error(`cannot merge a ${a.kind} profile with a ${b.kind} one`);
}

/** Merges two profiles column by column (a column in one only is kept as it is). */
export function mergeProfiles(a: Profile, b: Profile): Profile {
  const columns: Record<string, ColumnProfile> = { ...a.columns };
  for (const [name, column] of Object.entries(b.columns)) columns[name] = columns[name] ? mergeColumnProfiles(columns[name]!, column) : column;
  return { rows: a.rows + b.rows, columns };
}

/**
 * The profile of values held in memory (served values read from the serving log: a sample, not a
 * table), by the same rules as the SQL profile: numbers go to the sketch, strings and booleans
 * are categories (`String(value)`, as DuckDB casts them), null and undefined are nulls. A
 * numeric column also takes int64 values written as decimal strings.
 *
 * @example
 * profileValues([1.5, 2, null], 'numeric');
 */
export function profileValues(values: readonly unknown[], kind: ColumnProfile['kind']): ColumnProfile {
  let nulls = 0;
  if (kind === 'categorical') {
    const counts = new Map<string, number>();
    for (const v of values) {
      if (v === null || v === undefined) nulls++;
      else counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
    }
    return boundCategories(counts, 0, nulls);
  }
  const positive = new Map<number, number>();
  const negative = new Map<number, number>();
  let count = 0, nonFinite = 0, zero = 0, sum = 0;
  let min: number | null = null, max: number | null = null;
  for (const v of values) {
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    const x = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(x)) {
      nonFinite++;
      continue;
    }
    count++;
    sum += x;
    // `+ 0` folds a negative zero into 0: a profile, like every other path, has one zero.
    min = min === null ? x + 0 : Math.min(min, x + 0);
    max = max === null ? x + 0 : Math.max(max, x + 0);
    if (Math.abs(x) <= SKETCH_MIN_MAGNITUDE) zero++;
    else {
      const bins = x > 0 ? positive : negative;
      const key = sketchKey(Math.abs(x));
      bins.set(key, (bins.get(key) ?? 0) + 1);
    }
  }
  const sorted = (m: Map<number, number>): SketchBins => [...m].sort((a, b) => a[0] - b[0]);
  return { kind: 'numeric', relativeAccuracy: RELATIVE_ACCURACY, count, nulls, nonFinite, min, max, sum, zero, positive: sorted(positive), negative: sorted(negative) };
}
