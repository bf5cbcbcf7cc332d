import type { Aggregation } from './aggregation.js';
import { sumAccumulator, type SumAccumulator } from './sum-accumulator.js';

/**
 * `sum(col)`: the correctly rounded exact sum of the non-null values (as Python's `math.fsum`),
 * so it cannot depend on the order events arrive in. int64 values are summed exactly, then
 * rounded once to float64. Null when there is no non-null value.
 */
export const sum: Aggregation<SumAccumulator> = {
  fn: 'sum',
  accumulator: sumAccumulator,
  usesNullRows: false,
  empty: null,
  evaluate(acc, _t, _ttl, out) {
    out.value = acc.sum.n === 0 ? null : acc.sum.value();
    out.expired = false;
    out.absent = false;
  },
};
