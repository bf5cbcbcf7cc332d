import type { Aggregation } from './aggregation.js';
import { distinctAccumulator, type DistinctAccumulator } from './distinct-accumulator.js';

/** `countDistinct(col)`: the number of distinct non-null values (0 and -0 are one; booleans count at most 2). 0 when none. */
export const countDistinct: Aggregation<DistinctAccumulator> = {
  fn: 'countDistinct',
  accumulator: distinctAccumulator,
  usesNullRows: false,
  servesInputValues: false,
  empty: 0,
  evaluate(acc, _t, _ttl, out) {
    out.value = acc.size;
    out.expired = false;
    out.absent = false;
    out.overflow = false;
  },
};
