import type { FeatureFunction } from '../../definitions/index.js';
import type { Aggregation } from './aggregation.js';
import { avg } from './avg.js';
import { count } from './count.js';
import { countDistinct } from './count-distinct.js';
import { field } from './field.js';
import { last } from './last.js';
import { max } from './max.js';
import { min } from './min.js';
import { sum } from './sum.js';

/** Every aggregation by its function name: the one table the processing paths look them up in. */
export const AGGREGATIONS: Readonly<Record<FeatureFunction, Aggregation>> = {
  count, sum, avg, min, max, countDistinct, last, field,
} as unknown as Record<FeatureFunction, Aggregation>;

export type { Aggregation } from './aggregation.js';
export type { Accumulator, EventBuffer, Evaluation } from './accumulator.js';
export * from './columns.js';
export { ExactSum, type ExactSumState } from './exact-sum.js';
