import type { FeatureFunction } from '../../definitions/index.js';
import type { Accumulator, AccumulatorFactory, Evaluation } from './accumulator.js';
import type { Scalar } from './columns.js';

/**
 * One aggregation, in one home: its semantics (in its doc comment), the accumulator it reads,
 * and how it turns that accumulator into a value at time `t`. Online serving, materialization
 * and dataset builds all compute through this, so a new aggregation is one new file (plus its
 * builder in `definitions/` and its line in `index.ts`).
 *
 * The events an accumulator holds when `evaluate` is called are exactly the ones the feature
 * may see at `t` (leakage-safe windows from `time/`): the callers own the window, the
 * aggregation owns the arithmetic.
 */
export interface Aggregation<A extends Accumulator = Accumulator> {
  readonly fn: FeatureFunction;
  readonly accumulator: AccumulatorFactory<A>;
  /**
   * Whether rows whose column is null still count as "used" (`field`): decides which event is
   * the newest the value used, for its age. A feature without a column (`count()`) uses every row.
   */
  readonly usesNullRows: boolean;
  /**
   * Whether the value served is one of its column's values, or a list of them (`last`, `min`,
   * `max`, `field`, `lastN`), not a number computed from them: a feature of another entity reading
   * an erased entity's key column serves that key, and erasure matches such values.
   */
  readonly servesInputValues: boolean;
  /** The value when the entity has no events at all. */
  readonly empty: Scalar;
  evaluate(accumulator: A, t: number, ttlMs: number | undefined, out: Evaluation): void;
}
