import type { Aggregation } from './aggregation.js';
import { minAccumulator, type ExtremeAccumulator } from './extreme-accumulator.js';

/** `min(col)`: the smallest non-null value (numbers, timestamps, exact int64, strings by code point). Null when none. */
export const min: Aggregation<ExtremeAccumulator> = {
  fn: 'min',
  accumulator: minAccumulator,
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
