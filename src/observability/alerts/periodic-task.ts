/** A background loop started by a long-running process; `stop` waits for a round in progress. */
export interface PeriodicTask {
  /** Runs a round now (after the one in progress, if any). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs `round` every `intervalMs` (the first at once), one round at a time: a slow round delays
 * the next instead of overlapping it. A round that throws is logged and the loop goes on. The
 * timer does not keep the process alive.
 *
 * @example
 * const task = startPeriodic('freshness', 5_000, () => reportFreshness(ctx), log);
 * await task.stop();
 */
export function startPeriodic(name: string, intervalMs: number, round: () => Promise<unknown>, log: (level: 'warn', message: string) => void): PeriodicTask {
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const runRound = (): Promise<void> => {
    current = current.then(async () => {
      if (stopped) return;
      try {
        await round();
      } catch (error) {
        log('warn', `${name}: ${(error as Error).message} (retrying in ${intervalMs} ms)`);
      }
    });
    return current;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runRound().then(schedule), intervalMs);
    timer.unref();
  };
  void runRound().then(schedule);
  return {
    runNow: runRound,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
