import type { Aggregation } from './aggregation.js';
import { lastNAccumulator, type LastNAccumulator } from './last-n-accumulator.js';

const NONE: readonly never[] = Object.freeze([]);
const aggregations = new Map<number, Aggregation<LastNAccumulator>>();

/**
 * `lastN(col, n)`: the last `n` non-null values of the events in the window, newest first (ties
 * on ts: the row ingested later first), as a list; an empty list when there are none. One
 * aggregation per `n` (see `lastNAccumulator`).
 */
export function lastN(n: number): Aggregation<LastNAccumulator> {
  let aggregation = aggregations.get(n);
  if (!aggregation) {
    aggregation = {
      fn: 'lastN',
      accumulator: lastNAccumulator(n),
      usesNullRows: false,
      servesInputValues: true,
      empty: NONE,
      evaluate(acc, _t, _ttl, out) {
        out.value = acc.value();
        out.expired = false;
        out.absent = false;
        out.overflow = false;
      },
    };
    aggregations.set(n, aggregation);
  }
  return aggregation;
}
