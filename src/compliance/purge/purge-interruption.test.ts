import { expect, test } from 'vitest';
import type { SluiceContext } from '../../context.js';
import { InterruptedError } from '../../errors.js';
import { engineError } from '../../storage/engine/engine-error.js';
import { purgeInterruption } from './purge-interruption.js';

test('a statement the stop interrupted fails the purge as INTERRUPTED (the reason, the step, what finishes it), the engine error as its cause; other failures pass as they are', async () => {
  let interrupts = 0;
  const ctx = { engine: async () => ({ interrupt: () => void interrupts++ }) } as unknown as SluiceContext;
  const stopping = new AbortController();
  const stop = purgeInterruption(ctx, 'txns', stopping.signal);
  stop.step('online');
  const other = new Error('disk full');
  expect(stop.failure(other)).toBe(other);
  stopping.abort(new InterruptedError('INTERRUPTED', 'interrupted (SIGTERM)', { details: { signal: 'SIGTERM' } }));
  const interrupted = engineError('DuckDB', new Error('INTERRUPT Error: Interrupted!'), 'SELECT 1');
  const failure = stop.failure(interrupted) as InterruptedError;
  expect(failure).toBeInstanceOf(InterruptedError);
  expect(failure).toMatchObject({ code: 'INTERRUPTED', details: { signal: 'SIGTERM', source: 'txns', step: 'online' }, cause: interrupted });
  expect(failure.message).toMatch(/^purge of source "txns" stopped at its online step: interrupted \(SIGTERM\); what it removed stays removed, .*finishes it$/);
  expect(() => stop.step('dataset')).toThrow(InterruptedError);
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(interrupts).toBeGreaterThan(0);
  stop.done();
});
