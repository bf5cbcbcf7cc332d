import { expect, test } from 'vitest';
import { InterruptedError } from '../errors.js';
import { systemClock } from './clock.js';
import { withTimeout } from './run-attempts.js';
import type { JobContext } from './run-job.js';

// Work that runs no DuckDB statement: nothing to interrupt.
const jc = { engine: () => Promise.reject(new Error('no engine')) } as unknown as JobContext;

test('a stopped attempt waits for its work: the reason if the work stopped, its result if it went on and finished', async () => {
  const stop = new AbortController();
  const stopped = withTimeout(jc, systemClock, 3_600_000, stop.signal, async (signal) => {
    stop.abort(new Error('SIGTERM'));
    signal.throwIfAborted();
    return 'committed';
  });
  await expect(stopped).rejects.toMatchObject({ code: 'INTERRUPTED', message: 'SIGTERM' });
  const later = new AbortController();
  const finished = withTimeout(jc, systemClock, 3_600_000, later.signal, async () => {
    later.abort(new InterruptedError('INTERRUPTED', 'the scheduler stopped'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    return 'committed';
  });
  await expect(finished).resolves.toBe('committed');
});

test('work that has not stopped within the grace after its stop is answered without: the reason says it may yet commit', async () => {
  const stop = new AbortController();
  let release = (): void => undefined;
  const work = new Promise<string>((resolve) => (release = () => resolve('late')));
  let settled = false;
  const answer = withTimeout(jc, systemClock, 3_600_000, stop.signal, () => work, async () => void (settled = true), 50);
  stop.abort(new InterruptedError('INTERRUPTED', 'the scheduler stopped before the run finished (SIGTERM)'));
  await expect(answer).rejects.toMatchObject({ code: 'INTERRUPTED', message: expect.stringMatching(/\(SIGTERM\); its work had not stopped .* later and may yet commit/) });
  expect(settled).toBe(false);
  release();
  await expect.poll(() => settled).toBe(true);
});

test('an attempt stopped before its work starts settles at once: onSettled runs, so no one waits for it forever', async () => {
  const stop = new AbortController();
  stop.abort(new InterruptedError('INTERRUPTED', 'the scheduler stopped before the run finished (SIGTERM)'));
  let started = false;
  let settled = false;
  const answer = withTimeout(jc, systemClock, 3_600_000, stop.signal, async () => void (started = true), async () => void (settled = true));
  await expect(answer).rejects.toMatchObject({ code: 'INTERRUPTED', message: 'the scheduler stopped before the run finished (SIGTERM)' });
  expect([started, settled]).toEqual([false, true]);
});
