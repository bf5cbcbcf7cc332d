import type { Aggregation } from './aggregation.js';
import { countAccumulator, type CountAccumulator } from './counters.js';

/** `count()`: the number of events; `count(col)`: the number of non-null values. 0 when none. */
export const count: Aggregation<CountAccumulator> = {
  fn: 'count',
  accumulator: countAccumulator,
  usesNullRows: true,
  empty: 0,
  evaluate(acc, _t, _ttl, out) {
    out.value = acc.n;
    out.expired = false;
  },
};
