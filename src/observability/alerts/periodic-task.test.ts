import { expect, test } from 'vitest';
import { startPeriodic } from './periodic-task.js';

test('rounds run one at a time; a failing round is logged and the loop goes on; stop waits for the round in progress', async () => {
  const logged: string[] = [];
  let rounds = 0;
  let running = 0;
  let overlapped = false;
  let release!: () => void;
  const third = new Promise<void>((r) => (release = r));
  const task = startPeriodic('test loop', 1, async () => {
    overlapped ||= running > 0;
    running++;
    rounds++;
    await new Promise((r) => setTimeout(r, 2));
    running--;
    if (rounds === 1) throw new Error('boom');
    if (rounds === 3) release();
  }, (_level, message) => logged.push(message));
  await third;
  await task.runNow();
  await task.stop();
  const after = rounds;
  await new Promise((r) => setTimeout(r, 20));
  expect(rounds).toBe(after);
  expect(overlapped).toBe(false);
  expect(logged).toEqual(['test loop: boom (retrying in 1 ms)']);
});
