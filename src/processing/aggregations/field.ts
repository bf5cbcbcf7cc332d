import { withinTtl } from '../../time/index.js';
import type { Aggregation } from './aggregation.js';
import { latestRowAccumulator, type LatestAccumulator } from './latest-accumulator.js';

/**
 * `field(col)`: the value, null or not, of the latest row with `ts < t`; with the view's ttl,
 * only while that row has `ts >= t - ttl` (else null, and `expired`).
 */
export const field: Aggregation<LatestAccumulator> = {
  fn: 'field',
  accumulator: latestRowAccumulator,
  usesNullRows: true,
  servesInputValues: true,
  empty: null,
  evaluate(acc, t, ttlMs, out) {
    const alive = !acc.present || withinTtl(acc.ts(), t, ttlMs);
    out.value = alive ? acc.value() : null;
    out.expired = !alive;
    out.absent = !acc.present;
    out.overflow = false;
  },
};
