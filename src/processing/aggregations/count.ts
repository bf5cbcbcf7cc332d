import type { Aggregation } from './aggregation.js';
import { countAccumulator, type CountAccumulator } from './counters.js';

/** `count()`: the number of events; `count(col)`: the number of non-null values. 0 when none. */
export const count: Aggregation<CountAccumulator> = {
  fn: 'count',
  accumulator: countAccumulator,
  // count() reads no column, so every row is used (the slot knows); count(col) uses non-null values.
  usesNullRows: false,
  servesInputValues: false,
  empty: 0,
  evaluate(acc, _t, _ttl, out) {
    out.value = acc.n;
    out.expired = false;
    out.absent = false;
    out.overflow = false;
  },
};
