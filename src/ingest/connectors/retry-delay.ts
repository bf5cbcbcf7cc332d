/**
 * How long a connector waits before retry number `attempt` (0 for the first): exponential from
 * `firstMs` (default 250 ms), capped at `maxMs` (default 30 s), with jitter (a random half of the
 * step) so that many workers that lost one server do not all come back at the same instant.
 * The one backoff rule of every connector.
 *
 * @example
 * retryDelayMs(0); // between 125 and 250
 * retryDelayMs(10); // between 15000 and 30000
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random, firstMs = 250, maxMs = 30_000): number {
  const step = Math.min(maxMs, firstMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}
