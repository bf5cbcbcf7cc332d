import type { SluiceContext } from '../../context.js';
import { DEFAULT_DRIFT, type DriftThreshold } from '../../definitions/index.js';
import type { DriftResult } from '../../storage/metadata/drift-store.js';
import { TOP_K, type ColumnProfile, type Profile } from './column-profile.js';
import { driftScore } from './drift-score.js';

/** A column the two sides could not be compared on, and why. */
export interface DriftSkip {
  readonly feature: string;
  readonly reason: string;
}

export interface DriftComparison {
  readonly results: DriftResult[];
  readonly skipped: DriftSkip[];
}

/** Non-null values a side needs before a column is profiled for scoring at all (the deciles of fewer are not deciles). */
export const MIN_VALUES = 30;

/**
 * The standard normal's 99.99th percentile. The approximation's tail is lighter than the sketch
 * bins' (a decile bin of its own holds few values): at the 99.9th, one same-distribution pair in
 * 200 still warned at the size it gave (seeded test), none in 1000 at this one.
 */
const Z_9999 = 3.719;

/**
 * The score two samples of one distribution reach by chance, at these sizes over `bins` bins:
 * PSI is close to a chi-square statistic scaled by `1/n + 1/m` (with `bins - 1` degrees of
 * freedom), so its 99.99th percentile (Wilson–Hilferty) times that scale; Jensen–Shannon (natural
 * log) is about an eighth of PSI for small differences.
 *
 * @example
 * chanceScore(19, 400, 400, 'psi'); // ~0.25: a warn at 0.1 would be noise
 */
export function chanceScore(bins: number, referenceCount: number, currentCount: number, metric: 'psi' | 'js'): number {
  const dof = Math.max(1, bins - 1);
  const quantile = dof * (1 - 2 / (9 * dof) + Z_9999 * Math.sqrt(2 / (9 * dof))) ** 3;
  const psi = quantile * (1 / referenceCount + 1 / currentCount);
  return metric === 'psi' ? psi : psi / 8;
}

/**
 * The values each side needs (equal sizes) so that chance stays under `warn` over `bins` bins:
 * the smallest `n` with `chanceScore(bins, n, n, metric) < warn`.
 *
 * @example
 * valuesToTell(19, 0.1, 'psi'); // 990
 */
export function valuesToTell(bins: number, warn: number, metric: 'psi' | 'js'): number {
  return Math.floor((2 * chanceScore(bins, 1, 1, metric)) / 2 / warn) + 1;
}

/** A categorical column whose counted values are each seen once: an id, whatever its name (PSI would be ~10 on every batch). */
const isIdentifierLike = (c: ColumnProfile): boolean => c.kind === 'categorical' && c.other === 0 && Object.keys(c.top).length === c.count;

const nullRate = (c: ColumnProfile) => (c.count + c.nulls === 0 ? 0 : c.nulls / (c.count + c.nulls));
const round = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Scores every column of `reference` that `current` also has, with its thresholds, into results
 * for `subject`; a column absent from `current`, of another kind, with fewer than `minValues`
 * non-null values on a side, categorical with more than `TOP_K` distinct values, or categorical
 * with every value distinct in the reference (both identifiers: every batch has new ones), or
 * with too few values to tell drift from chance over its bins (`chanceScore` at or over its warn
 * threshold) is skipped with the reason.
 *
 * @example
 * compareProfiles('dataset:ds_1', training, served, () => DEFAULT_DRIFT, Date.now());
 */
export function compareProfiles(
  subject: string,
  reference: Profile,
  current: Profile,
  thresholds: (column: string) => Required<DriftThreshold>,
  at: number,
  options: { readonly minValues?: number; readonly details?: Readonly<Record<string, unknown>> } = {},
): DriftComparison {
  const minValues = options.minValues ?? MIN_VALUES;
  const results: DriftResult[] = [];
  const skipped: DriftSkip[] = [];
  for (const [feature, ref] of Object.entries(reference.columns)) {
    const cur = current.columns[feature];
    if (!cur) {
      skipped.push({ feature, reason: 'no values on the current side' });
      continue;
    }
    if (ref.count < minValues || cur.count < minValues) {
      skipped.push({ feature, reason: `too few non-null values to score (reference ${ref.count}, current ${cur.count}; at least ${minValues} each)` });
      continue;
    }
    if (ref.kind === 'categorical' && ref.other > 0) {
      skipped.push({ feature, reason: `more than ${TOP_K} distinct values in the reference: an identifier rather than a category` });
      continue;
    }
    if (isIdentifierLike(ref)) {
      skipped.push({ feature, reason: `identifier-like: all ${ref.count} values in the reference are distinct (an id, not a category; every batch has new ones)` });
      continue;
    }
    const t = thresholds(feature);
    const scored = driftScore(ref, cur, t.metric);
    if (!scored) {
      skipped.push({ feature, reason: `the sides cannot be compared (reference ${ref.kind}, current ${cur.kind})` });
      continue;
    }
    // A batch too small to tell drift from chance over these bins is skipped, not scored as noise.
    const chance = chanceScore(scored.binned.bins.length, ref.count, cur.count, t.metric);
    if (chance >= t.warn) {
      const needed = valuesToTell(scored.binned.bins.length, t.warn, t.metric);
      skipped.push({ feature, reason: `too few values to tell drift from chance: over its ${scored.binned.bins.length} bins, two samples of one distribution of these sizes (reference ${ref.count}, current ${cur.count}) score ${t.metric.toUpperCase()} up to ${chance.toFixed(3)} by chance, over the warn threshold ${t.warn}; about ${needed} non-null values on each side are needed` });
      continue;
    }
    const severity = scored.score >= t.error ? 'error' : scored.score >= t.warn ? 'warn' : 'ok';
    results.push({
      subject, feature, metric: t.metric, score: scored.score, warn: t.warn, error: t.error, severity,
      referenceCount: ref.count, currentCount: cur.count,
      details: {
        ...options.details, referenceNullRate: round(nullRate(ref)), currentNullRate: round(nullRate(cur)),
        // NaN and +-Infinity are left out of the bins: counted, so leaving them out is visible.
        ...(ref.kind === 'numeric' && cur.kind === 'numeric' ? { referenceNonFinite: ref.nonFinite, currentNonFinite: cur.nonFinite } : {}),
        bins: scored.binned.bins, reference: scored.binned.reference.map(round), current: scored.binned.current.map(round),
      },
      computedAt: at,
    });
  }
  return { results, skipped };
}

/** A feature's thresholds from its view's `drift` option (`<view>__<feature>`), else the defaults. */
export function featureThresholds(project: { readonly featureViews: readonly { readonly name: string; readonly drift?: Readonly<Record<string, Required<DriftThreshold>>> }[] }): (column: string) => Required<DriftThreshold> {
  return (column) => {
    for (const view of project.featureViews) {
      if (column.startsWith(`${view.name}__`)) {
        const own = view.drift?.[column.slice(view.name.length + 2)];
        if (own) return own;
      }
    }
    return DEFAULT_DRIFT;
  };
}

/**
 * Stores results and reports each as the health condition `drift` of `conditionSubject(result)`:
 * firing with its severity at or over `warn`, cleared under it. The health store turns only
 * transitions into alerts, so a feature that stays drifted alerts once.
 */
export async function reportDrift(ctx: SluiceContext, results: readonly DriftResult[], conditionSubject: (result: DriftResult) => string, describe: (result: DriftResult) => string): Promise<void> {
  await ctx.metadata.drift.record(results);
  for (const result of results) {
    const firing = result.severity !== 'ok';
    const score = `${result.metric.toUpperCase()} ${result.score.toFixed(3)}`;
    const message = firing
      ? `${describe(result)} drifted: ${score} is over the ${result.severity} threshold ${result.severity === 'error' ? result.error : result.warn}; compare its distributions with "sluice drift --json", then retrain or fix the upstream data`
      : `${describe(result)} is within its drift thresholds (${score} < ${result.warn})`;
    await ctx.metadata.health.report({
      kind: 'drift', subject: conditionSubject(result), firing, severity: result.severity === 'error' ? 'error' : 'warn', message,
      details: { driftSubject: result.subject, feature: result.feature, metric: result.metric, score: result.score, warn: result.warn, error: result.error },
    }, result.computedAt);
  }
}
