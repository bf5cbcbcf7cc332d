import type { Aggregation } from './aggregation.js';
import { sumAccumulator, type SumAccumulator } from './sum-accumulator.js';

/** `avg(col)`: the exact sum (see `sum`) divided by the number of non-null values, one IEEE division. Null when none. */
export const avg: Aggregation<SumAccumulator> = {
  fn: 'avg',
  accumulator: sumAccumulator,
  usesNullRows: false,
  empty: null,
  evaluate(acc, _t, _ttl, out) {
    out.value = acc.sum.n === 0 ? null : acc.sum.value() / acc.sum.n;
    out.expired = false;
    out.absent = false;
  },
};
