import { setNumber } from './accumulator.js';
import type { Aggregation } from './aggregation.js';
import { sumAccumulator, type SumAccumulator } from './sum-accumulator.js';

/**
 * `avg(col)`: the exact sum (see `sum`) divided by the number of non-null values, one IEEE
 * division. Null when none. When the exact sum is outside the float64 range (its rounding is
 * infinite), the average is not: it is the exact sum divided by the count, rounded once
 * (`quotientPastRange`), never null.
 */
export const avg: Aggregation<SumAccumulator> = {
  fn: 'avg',
  accumulator: sumAccumulator,
  usesNullRows: false,
  servesInputValues: false,
  empty: null,
  evaluate(acc, _t, _ttl, out) {
    if (acc.sum.n === 0) {
      out.value = null;
      out.overflow = false;
    } else {
      const sum = acc.sum.value();
      setNumber(out, sum - sum === 0 ? sum / acc.sum.n : acc.sum.quotientPastRange(acc.sum.n));
    }
    out.expired = false;
    out.absent = false;
  },
};
