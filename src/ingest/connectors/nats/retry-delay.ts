const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 30_000;

/**
 * How long to wait before retry number `attempt` (0 for the first): exponential from 250 ms,
 * capped at 30 s, with jitter (a random half of the step) so that many workers that lost one
 * server do not all come back at the same instant.
 *
 * @example
 * retryDelayMs(0); // between 125 and 250
 * retryDelayMs(10); // between 15000 and 30000
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}
