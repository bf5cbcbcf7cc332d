import type { Aggregation } from './aggregation.js';
import { maxAccumulator, type ExtremeAccumulator } from './extreme-accumulator.js';

/** `max(col)`: the largest non-null value (numbers, timestamps, exact int64, strings by code point). Null when none. */
export const max: Aggregation<ExtremeAccumulator> = {
  fn: 'max',
  accumulator: maxAccumulator,
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
