import type { SluiceContext } from '../../context.js';
import { InterruptedError, stoppedBy } from '../../errors.js';
import { repeatInterrupts } from '../../storage/engine/repeat-interrupts.js';

/** How a purge meets a stop it was given (`PurgeRequest.signal`). */
export interface PurgeInterruption {
  /** Names the step about to start; throws the interruption if the purge was stopped. */
  step(name: string): void;
  /** The error the purge fails with: the interruption when it was stopped (the statement's INTERRUPT error as its cause), else `error`. */
  failure(error: unknown): unknown;
  /** Stops interrupting the engine (the purge has settled). */
  done(): void;
}

/**
 * Watches `signal` for a purge of `source`: once aborted, the statement running on the context's
 * engine is interrupted (again until the purge settles: DuckDB clears an interrupt when a statement
 * starts) and no further step starts. The purge then fails with an `InterruptedError` (code
 * INTERRUPTED) that says what stopped it, at which step, that what it removed stays removed, and
 * what finishes it, never with the engine's "INTERRUPT Error" (ADAPTER_FAILED).
 *
 * @example
 * const stop = purgeInterruption(ctx, 'txns', request.signal);
 * try { stop.step('lake'); await purgeLake(...); } catch (e) { throw stop.failure(e); } finally { stop.done(); }
 */
export function purgeInterruption(ctx: SluiceContext, source: string, signal: AbortSignal | undefined): PurgeInterruption {
  let current = 'start';
  let interrupting: (() => void) | undefined;
  const onAbort = () => {
    interrupting ??= repeatInterrupts(() => void ctx.engine().then((engine) => engine.interrupt(), () => undefined));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const interruption = (cause?: unknown): InterruptedError =>
    stoppedBy(signal, (why) => `purge of source "${source}" stopped at its ${current} step: ${why}; what it removed stays removed, and running the command again (or the next purge of source "${source}": sluice retention run, sluice erase) finishes it`, { source, step: current }, cause);
  return {
    step(name) {
      current = name;
      if (signal?.aborted) throw interruption();
    },
    failure: (error) => (signal?.aborted && !(error instanceof InterruptedError) ? interruption(error) : error),
    done() {
      signal?.removeEventListener('abort', onAbort);
      interrupting?.();
    },
  };
}
