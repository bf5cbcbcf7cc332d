import type { Aggregation } from './aggregation.js';
import { lastAccumulator, type LatestAccumulator } from './latest-accumulator.js';

/** `last(col)`: the non-null value of the latest event (ties on ts: the row ingested later). Null when none. */
export const last: Aggregation<LatestAccumulator> = {
  fn: 'last',
  accumulator: lastAccumulator,
  usesNullRows: false,
  servesInputValues: true,
  empty: null,
  evaluate(acc, _t, _ttl, out) {
    out.value = acc.value();
    out.expired = false;
    out.absent = false;
    out.overflow = false;
  },
};
