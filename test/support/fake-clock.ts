import type { SchedulerClock } from '../../src/orchestration/clock.js';

/** A clock that moves only when told: `advance` wakes the sleepers it passes. `onSleep` sees each sleep asked for. */
export interface FakeClock extends SchedulerClock {
  time: number;
  advance(ms: number): Promise<void>;
  /** Sleeps asked for, in order (ms). */
  readonly sleeps: number[];
  onSleep?: (ms: number) => void;
  /** Resolves once some sleep of `ms` is pending (e.g. the timeout of a run that has started). */
  waitForSleep(ms: number): Promise<void>;
}

export function fakeClock(start: number): FakeClock {
  const sleepers: { until: number; wake: () => void }[] = [];
  const watchers: { ms: number; resolve: () => void }[] = [];
  const pending = new Set<number>();
  const clock: FakeClock = {
    time: start,
    sleeps: [],
    now: () => clock.time,
    sleep(ms, signal) {
      clock.sleeps.push(ms);
      clock.onSleep?.(ms);
      pending.add(ms);
      for (const w of watchers.filter((x) => x.ms === ms)) w.resolve();
      return new Promise<void>((resolve) => {
        const wake = () => {
          pending.delete(ms);
          resolve();
        };
        if (signal?.aborted) return wake();
        sleepers.push({ until: clock.time + ms, wake });
        signal?.addEventListener('abort', wake, { once: true });
      });
    },
    async advance(ms) {
      clock.time += ms;
      for (const s of sleepers.filter((x) => x.until <= clock.time)) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.wake();
      }
      await new Promise((r) => setImmediate(r));
    },
    waitForSleep(ms) {
      if (pending.has(ms)) return Promise.resolve();
      return new Promise((resolve) => watchers.push({ ms, resolve }));
    },
  };
  return clock;
}
