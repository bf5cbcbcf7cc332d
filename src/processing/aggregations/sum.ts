import { setNumber } from './accumulator.js';
import type { Aggregation } from './aggregation.js';
import { sumAccumulator, type SumAccumulator } from './sum-accumulator.js';

/**
 * `sum(col)`: the correctly rounded exact sum of the non-null values (as Python's `math.fsum`),
 * so it cannot depend on the order events arrive in. int64 values are summed exactly, then
 * rounded once to float64. Null when there is no non-null value, and null with `overflow`
 * (status `ERROR`) when the exact sum is outside the float64 range (see `setNumber`).
 */
export const sum: Aggregation<SumAccumulator> = {
  fn: 'sum',
  accumulator: sumAccumulator,
  usesNullRows: false,
  servesInputValues: false,
  empty: null,
  evaluate(acc, _t, _ttl, out) {
    if (acc.sum.n === 0) {
      out.value = null;
      out.overflow = false;
    } else setNumber(out, acc.sum.value());
    out.expired = false;
    out.absent = false;
  },
};
