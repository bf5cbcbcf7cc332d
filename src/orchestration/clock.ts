/**
 * The time a scheduler, its retries and its timeouts run on. Injected, so tests advance a fake
 * clock instead of waiting for real minutes.
 */
export interface SchedulerClock {
  /** UTC epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The wall clock.
 *
 * @example
 * await systemClock.sleep(1_000, controller.signal);
 */
export const systemClock: SchedulerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};
