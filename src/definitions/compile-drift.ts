import type { DriftThreshold } from './types.js';
import { didYouMean } from './suggest.js';
import { fail } from './validate-names.js';

/** The default drift thresholds (PSI or JS divergence): warn at 0.1, error at 0.25, scored with PSI. */
export const DEFAULT_DRIFT: Required<DriftThreshold> = { warn: 0.1, error: 0.25, metric: 'psi' };

/**
 * A feature view's `drift` option checked: per feature, thresholds with `0 < warn <= error` and
 * a metric `psi` or `js`; omitted fields take {@link DEFAULT_DRIFT}. Empty when absent.
 *
 * @example
 * compileDrift('feature view "txn"', { amount_sum: { warn: 0.2 } }, ['amount_sum']);
 */
export function compileDrift(where: string, spec: unknown, features: readonly string[]): { drift?: Readonly<Record<string, Required<DriftThreshold>>> } {
  if (spec === undefined) return {};
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) fail(`${where}: drift must be an object of feature name to thresholds, e.g. { amount_sum: { warn: 0.1, error: 0.25, metric: 'psi' } }`);
  const drift: Record<string, Required<DriftThreshold>> = {};
  for (const [feature, given] of Object.entries(spec as Record<string, DriftThreshold>)) {
    if (!features.includes(feature)) fail(`${where}: drift names feature "${feature}", which the view does not have${didYouMean(feature, features)}`);
    const t = { ...DEFAULT_DRIFT, ...given };
    if (t.metric !== 'psi' && t.metric !== 'js') fail(`${where}: drift of "${feature}": metric must be "psi" or "js", not ${JSON.stringify(t.metric)}`);
    if (!(typeof t.warn === 'number' && t.warn > 0) || !(typeof t.error === 'number' && t.error >= t.warn)) {
      fail(`${where}: drift of "${feature}": thresholds need 0 < warn <= error (got warn ${JSON.stringify(t.warn)}, error ${JSON.stringify(t.error)})`);
    }
    drift[feature] = { warn: t.warn, error: t.error, metric: t.metric };
  }
  return { drift };
}

/**
 * A feature service's `log` option checked: a sample rate in [0, 1]. Empty when absent.
 *
 * @example
 * compileServingLog('feature service "fraud_v1"', { sampleRate: 0.1 }); // { log: { sampleRate: 0.1 } }
 */
export function compileServingLog(where: string, spec: unknown): { log?: { readonly sampleRate: number } } {
  if (spec === undefined) return {};
  const rate = (spec as { sampleRate?: unknown } | null)?.sampleRate;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) fail(`${where}: log.sampleRate must be a number from 0 to 1 (the share of entity keys whose requests are logged), e.g. { log: { sampleRate: 0.1 } }`);
  return { log: { sampleRate: rate } };
}
