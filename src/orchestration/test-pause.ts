/**
 * Named points where a long operation (erasure, retention, purge, materialize, ingest, dataset build) can be stopped by
 * a test, so crash and concurrency tests depend on where a process is, never on timings. Off
 * unless asked: one environment lookup per point, nothing else.
 *
 * - Across processes: `SLUICE_TEST_PAUSE_AT=<step>[,<step>...]` makes the process print
 *   `SLUICE_TEST_PAUSED <step> <pid>` on stderr when it reaches the step, then wait until it gets
 *   SIGUSR2 (go on) or is killed (a crash at that step). Each named step pauses once.
 * - In one process: `onTestPause(step, handler)` runs `handler` (awaited) when the step is reached.
 */
export type TestPauseHandler = () => Promise<void> | void;

const handlers = new Map<string, TestPauseHandler>();
const paused = new Set<string>();

/** The marker a paused process prints on stderr (followed by the step and its pid). */
export const TEST_PAUSE_MARKER = 'SLUICE_TEST_PAUSED';

/**
 * Registers (or with `undefined`, removes) an in-process handler for a step; returns a function that removes it.
 *
 * @example
 * const off = onTestPause('purge.lake-swapped', () => gate);
 */
export function onTestPause(step: string, handler: TestPauseHandler | undefined): () => void {
  if (handler === undefined) handlers.delete(step);
  else handlers.set(step, handler);
  return () => handlers.delete(step);
}

function waitForResume(step: string): Promise<void> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    process.once('SIGUSR2', () => {
      clearInterval(keepAlive);
      resolve();
    });
    process.stderr.write(`${TEST_PAUSE_MARKER} ${step} ${process.pid}\n`);
  });
}

/**
 * A named point of a long operation: returns at once unless a test asked to pause here.
 *
 * @example
 * await testPause('erase.purged');
 */
export async function testPause(step: string): Promise<void> {
  const handler = handlers.get(step);
  if (handler !== undefined) await handler();
  const wanted = process.env.SLUICE_TEST_PAUSE_AT;
  if (wanted === undefined || wanted === '' || paused.has(step)) return;
  if (!wanted.split(',').includes(step)) return;
  paused.add(step);
  await waitForResume(step);
}
