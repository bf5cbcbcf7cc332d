import { setNumber } from './accumulator.js';
import type { Aggregation } from './aggregation.js';
import { sumAccumulator, type SumAccumulator } from './sum-accumulator.js';

/**
 * `avg(col)`: the exact sum (see `sum`) divided by the number of non-null values, one IEEE
 * division. Null when none; null with `overflow` (status `ERROR`) when the exact sum is outside
 * the float64 range, though the average itself may not be (see `setNumber`).
 */
export const avg: Aggregation<SumAccumulator> = {
  fn: 'avg',
  accumulator: sumAccumulator,
  usesNullRows: false,
  empty: null,
  evaluate(acc, _t, _ttl, out) {
    if (acc.sum.n === 0) {
      out.value = null;
      out.overflow = false;
    } else setNumber(out, acc.sum.value() / acc.sum.n);
    out.expired = false;
    out.absent = false;
  },
};
