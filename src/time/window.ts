/**
 * The one owner of Sluice's time semantics. A feature value at time `t` uses only events with
 * timestamp `< t` (leakage-safe). A window of length `W` holds the events with
 * `t - W <= ts < t`; no window means every event with `ts < t`. Batch SQL, the online path and
 * (later) the streaming engine all take their boundaries from here.
 */

/** A half-open interval `[start, end)` of epoch milliseconds. `start` is `-Infinity` when unbounded. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/**
 * The events a feature at time `t` may see, for a window length (undefined: unbounded).
 *
 * @example
 * windowAt(10_000, 3_000); // { start: 7_000, end: 10_000 }: 7_000 <= ts < 10_000
 */
export function windowAt(t: number, windowMs: number | undefined): TimeWindow {
  return { start: windowMs === undefined ? -Infinity : t - windowMs, end: t };
}

/** True when an event at `ts` falls inside the window. */
export function inWindow(ts: number, window: TimeWindow): boolean {
  return ts >= window.start && ts < window.end;
}

/**
 * The index range `[from, to)` of the events inside a window, in times sorted ascending.
 *
 * @example
 * eventRange(new Float64Array([5, 7, 9, 10]), windowAt(10, 3)); // [1, 3]: the events at 7 and 9
 */
export function eventRange(sortedTimes: Float64Array, window: TimeWindow): [number, number] {
  return [firstAtOrAfter(sortedTimes, window.start), firstAtOrAfter(sortedTimes, window.end)];
}

function firstAtOrAfter(times: Float64Array, bound: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < bound) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * True when a row last seen at `ts` is still alive at `t` under a time-to-live: `ts >= t - ttl`.
 * No ttl: always alive.
 */
export function withinTtl(ts: number, t: number, ttlMs: number | undefined): boolean {
  return ttlMs === undefined || ts >= t - ttlMs;
}

/**
 * The SQL predicate selecting the events of a window, for set-based engines.
 * `eventTs` and `t` are SQL expressions in epoch milliseconds.
 *
 * @example
 * windowPredicateSql('e._ts', 'k._t', 3_600_000); // "e._ts < k._t AND e._ts >= k._t - 3600000"
 */
export function windowPredicateSql(eventTs: string, t: string, windowMs: number | undefined): string {
  const upper = `${eventTs} < ${t}`;
  return windowMs === undefined ? upper : `${upper} AND ${eventTs} >= ${t} - ${windowMs}`;
}

/** The SQL predicate for a time-to-live, matching {@link withinTtl}. */
export function ttlPredicateSql(rowTs: string, t: string, ttlMs: number | undefined): string {
  return ttlMs === undefined ? 'TRUE' : `${rowTs} >= ${t} - ${ttlMs}`;
}

/**
 * The earliest event time that any window can still reach at or after `asOf`: events older than
 * this only matter to unbounded aggregations, so the online store keeps them pre-aggregated.
 */
export function retentionHorizon(asOf: number, longestWindowMs: number): number {
  return asOf - longestWindowMs;
}
