import type { Feature, FeatureFunction } from '../../definitions/index.js';
import type { Aggregation } from './aggregation.js';
import { avg } from './avg.js';
import { count } from './count.js';
import { countDistinct } from './count-distinct.js';
import { field } from './field.js';
import { last } from './last.js';
import { lastN } from './last-n.js';
import { max } from './max.js';
import { min } from './min.js';
import { sum } from './sum.js';

/** Every aggregation without a parameter by its function name (`lastN` takes its `n`: see {@link aggregationOf}). */
export const AGGREGATIONS: Readonly<Record<Exclude<FeatureFunction, 'lastN'>, Aggregation>> = {
  count, sum, avg, min, max, countDistinct, last, field,
} as unknown as Record<Exclude<FeatureFunction, 'lastN'>, Aggregation>;

/** A feature's aggregation: the one lookup the processing paths use. */
export function aggregationOf(feature: Pick<Feature, 'fn' | 'n'>): Aggregation {
  return feature.fn === 'lastN' ? (lastN(feature.n!) as unknown as Aggregation) : AGGREGATIONS[feature.fn];
}

export type { Aggregation } from './aggregation.js';
export type { Accumulator, EventBuffer, Evaluation } from './accumulator.js';
export * from './columns.js';
export { ExactSum, type ExactSumState } from './exact-sum.js';
