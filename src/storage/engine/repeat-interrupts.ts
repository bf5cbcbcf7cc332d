/** How often an engine is interrupted again while the work being stopped has not settled. */
const REPEAT_MS = 50;

/**
 * Interrupts now, then every 50 ms until the returned function is called (once the work being
 * stopped has settled). DuckDB clears an interrupt when a statement starts, so a single
 * interrupt that lands between two statements of a job stops nothing; repeated, it stops the
 * next one. The timer does not keep the process alive.
 *
 * @example
 * const done = repeatInterrupts(() => engine.interrupt());
 * try { await work; } finally { done(); }
 */
export function repeatInterrupts(interrupt: () => void): () => void {
  interrupt();
  const timer = setInterval(interrupt, REPEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}
