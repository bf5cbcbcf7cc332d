import { formatDuration } from '../time/index.js';

/** Whether data is within its freshness SLA, and how old it is. */
export interface FreshnessVerdict {
  readonly stale: boolean;
  /** `now - dataAt` in ms (never negative); null when there is no data. */
  readonly lagMs: number | null;
  /** Why it is stale, for a person; undefined when fresh. */
  readonly reason?: string;
}

/**
 * The freshness rule, used by serving (a view's values become `STALE`), `sluice status` and the
 * metrics alike: data is stale when its newest committed data (`dataAt`, UTC epoch ms) is more
 * than `freshnessMs` older than `now`, or when there is none. Exactly at the SLA it is fresh.
 *
 * @example
 * freshnessVerdict(300_000, now - 360_000, now); // { stale: true, lagMs: 360000, reason: 'past its freshness SLA of 5m: ...' }
 */
export function freshnessVerdict(freshnessMs: number, dataAt: number | null, now: number): FreshnessVerdict {
  if (dataAt === null) return { stale: true, lagMs: null, reason: `past its freshness SLA of ${formatDuration(freshnessMs)}: no data has been committed yet` };
  const lagMs = Math.max(0, now - dataAt);
  if (lagMs <= freshnessMs) return { stale: false, lagMs };
  return { stale: true, lagMs, reason: `past its freshness SLA of ${formatDuration(freshnessMs)}: its newest data is ${formatLag(lagMs)} old (from ${new Date(dataAt).toISOString()})` };
}

/** A lag for a person, rounded down to its largest unit: `12m 30s`, `2h 5m`, `800ms`. */
function formatLag(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  const s = Math.floor(ms / 1_000);
  const parts: [number, string][] = [[Math.floor(s / 86_400), 'd'], [Math.floor(s / 3_600) % 24, 'h'], [Math.floor(s / 60) % 60, 'm'], [s % 60, 's']];
  const first = parts.findIndex(([n]) => n > 0);
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, u]) => `${n}${u}`).join(' ');
}
