import { isSluiceError } from '../../errors.js';

/** What a stop past a retention run's commit point left to the next run (`RetentionReport.stopped`). */
export interface RetentionStop {
  /** The stop's reason (`interrupted (SIGTERM)`, `timed out after 10m`), as the run's `stopRequested` says it. */
  readonly reason: string;
  /** The steps it left, in the run's order: `source:<name>`, `online:<view>`, `serving-log`, `drop-records`, `scrub`. */
  readonly left: readonly string[];
}

/** How a retention run meets a stop (see `retentionStop`). */
export interface RetentionStopRule {
  /** The run passed its commit point: a purge committed, or a view's expired entries were removed. */
  committed(): void;
  /**
   * Runs the step `name` by the rule: its result, or `left(stop)` when the stop leaves it (`stop`:
   * the interruption met within it; undefined when it was not entered). A step that meets the stop
   * itself before it changes anything (`meetsStop`: the scrub, whose stores left fire
   * `scrub_pending`) is entered all the same.
   */
  step<T>(name: string, work: () => Promise<T>, left: (stop: Error | undefined) => T, options?: { readonly meetsStop?: boolean }): Promise<T>;
  /** What the stop left; undefined when none was met past the commit point. */
  stopped(): RetentionStop | undefined;
}

/** Whether `error` is a stop's interruption (a lease wait, a purge's step, the serving log, the scrub). */
function isStop(error: unknown): error is Error {
  return isSluiceError(error) && (error.code === 'INTERRUPTED' || error.code === 'TIMED_OUT');
}

/**
 * The one rule for a stop (`signal`: Ctrl-C, SIGTERM, a stopping scheduler, a timeout) of a
 * retention run (docs/orchestration.md, "commit points"): before its commit point the stop fails
 * the run, which committed nothing; past it, the step the stop is met in and every later one
 * are left to the next run (which removes what has expired by then: a superset), and the run
 * succeeds with what it removed, saying what it left (`stopped()`; a job's run says
 * `stopRequested`). A step of which part was done keeps it (the serving log's files rewritten
 * before the stop stay rewritten, and counted).
 *
 * @example
 * const stop = retentionStop(options.signal);
 * const entries = await stop.step('online:stats', () => removeExpired(), () => 0);
 */
export function retentionStop(signal: AbortSignal | undefined): RetentionStopRule {
  let passed = false;
  let stopped: { reason: string; left: string[] } | undefined;
  const leave = (name: string) => {
    const reason: unknown = signal?.reason;
    stopped ??= { reason: reason instanceof Error ? reason.message : String(reason), left: [] };
    stopped.left.push(name);
  };
  return {
    committed: () => void (passed = true),
    async step(name, work, left, options = {}) {
      const past = () => passed && signal?.aborted === true;
      if (past() && !options.meetsStop) {
        leave(name);
        return left(undefined);
      }
      try {
        return await work();
      } catch (error) {
        if (!past() || !isStop(error)) throw error;
        leave(name);
        return left(error);
      }
    },
    stopped: () => (stopped === undefined ? undefined : { reason: stopped.reason, left: [...stopped.left] }),
  };
}
