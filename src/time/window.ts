/**
 * The one owner of Sluice's time semantics. A feature value at time `t` uses only events with
 * timestamp `< t` (leakage-safe). A window of length `W` holds the events with
 * `t - W <= ts < t`; a hopped window (`W`, hop `H`) holds `floor(t - W, H) <= ts < t`, its
 * tail moving in steps of `H` (multiples of `H` since the epoch) while its head slides; no
 * window means every event with `ts < t`. Batch SQL, the online path and the streaming engine
 * all take their boundaries from here.
 */

/** A half-open interval `[start, end)` of epoch milliseconds. `start` is `-Infinity` when unbounded. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** How far back a feature looks: a window length and, for a hopped window, its hop. */
export interface WindowSpec {
  readonly windowMs?: number | undefined;
  readonly hopMs?: number | undefined;
}

/**
 * `ms` rounded down to a multiple of `hopMs` since the epoch: toward -Infinity, so times before
 * 1970 floor to the earlier boundary. Exact for integers (`%` on doubles is exact).
 *
 * @example
 * floorToHop(7_500, 1_000); // 7_000
 * floorToHop(-1, 1_000); // -1_000
 */
export function floorToHop(ms: number, hopMs: number): number {
  return ms - (((ms % hopMs) + hopMs) % hopMs);
}

/**
 * The events a feature at time `t` may see, for a window length (undefined: unbounded) and an
 * optional hop: `[t - W, t)`, or `[floor(t - W, hop), t)` for a hopped window. The start never
 * moves back as `t` grows, so a sweep in time order only ever drops events from the tail.
 *
 * @example
 * windowAt(10_000, 3_000); // { start: 7_000, end: 10_000 }: 7_000 <= ts < 10_000
 * windowAt(10_500, 3_000, 1_000); // { start: 7_000, end: 10_500 }
 */
export function windowAt(t: number, windowMs: number | undefined, hopMs?: number): TimeWindow {
  return { start: windowStartAt(t, windowMs, hopMs), end: t };
}

/**
 * `windowAt(t, windowMs, hopMs).start`, without making the window (the serving hot path asks for
 * many starts per request).
 *
 * @example
 * windowStartAt(10_500, 3_000, 1_000); // 7_000
 */
export function windowStartAt(t: number, windowMs: number | undefined, hopMs?: number): number {
  if (windowMs === undefined) return -Infinity;
  return hopMs === undefined ? t - windowMs : floorToHop(t - windowMs, hopMs);
}

/**
 * A bound on how far back from `t` a window reaches: every event it holds has
 * `ts > t - windowReachMs(...)` (a hopped window holds less than `W + hop`). Infinity unbounded.
 * For set-based engines that narrow their input before the exact window is applied.
 *
 * @example
 * windowReachMs(3_000, 1_000); // 4_000: at t = 10_500 the window starts at 7_000 > 6_500
 */
export function windowReachMs(windowMs: number | undefined, hopMs?: number): number {
  return windowMs === undefined ? Infinity : windowMs + (hopMs ?? 0);
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

/**
 * The index of the first time in `sortedTimes` at or after `bound` (`sortedTimes.length` if none):
 * where a window starting or ending at `bound` begins or ends in a sorted buffer.
 *
 * @example
 * firstAtOrAfter(Float64Array.of(1, 2, 2, 5), 2); // 1
 */
export function firstAtOrAfter(times: Float64Array, bound: number): number {
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
 * The SQL predicate selecting the events of a window, for set-based engines, matching
 * {@link windowAt}. `eventTs` and `t` are integer SQL expressions in epoch milliseconds (SQL's
 * `%` truncates toward zero; the floor is taken as in {@link floorToHop}).
 *
 * @example
 * windowPredicateSql('e._ts', 'k._t', 3_600_000); // "e._ts < k._t AND e._ts >= k._t - 3600000"
 * windowPredicateSql('e._ts', 'k._t', 3_000, 1_000);
 * // "e._ts < k._t AND e._ts >= (k._t - 3000) - ((((k._t - 3000) % 1000) + 1000) % 1000)"
 */
export function windowPredicateSql(eventTs: string, t: string, windowMs: number | undefined, hopMs?: number): string {
  const upper = `${eventTs} < ${t}`;
  if (windowMs === undefined) return upper;
  const start = `${t} - ${windowMs}`;
  if (hopMs === undefined) return `${upper} AND ${eventTs} >= ${start}`;
  return `${upper} AND ${eventTs} >= (${start}) - ((((${start}) % ${hopMs}) + ${hopMs}) % ${hopMs})`;
}

/** The SQL predicate for a time-to-live, matching {@link withinTtl}. */
export function ttlPredicateSql(rowTs: string, t: string, ttlMs: number | undefined): string {
  return ttlMs === undefined ? 'TRUE' : `${rowTs} >= ${t} - ${ttlMs}`;
}

/**
 * The earliest event time that any of the windows can still reach at or after `asOf` (the
 * earliest window start at `asOf`, since starts never move back): events older than this only
 * matter to unbounded aggregations, so the online store keeps them pre-aggregated. `asOf` when
 * no window is bounded.
 *
 * @example
 * retentionHorizon(10_500, [{ windowMs: 2_000 }, { windowMs: 3_000, hopMs: 1_000 }]); // 7_000
 */
export function retentionHorizon(asOf: number, windows: readonly WindowSpec[]): number {
  return earliestKept(asOf, windows, false);
}

/**
 * Where a hopped window's tiles end when cut at `asOf`: the start of the hop holding `asOf` (its
 * open hop). The hops from `windowAt(asOf, W, hop).start` up to it are closed (every event in them
 * has `ts < asOf`), so each can be pre-aggregated into one tile; a window at any `t >= asOf`
 * starts on a hop boundary, so it holds whole tiles (those starting at or after its start) and
 * the events from `max(start, tiledUntil)` on.
 *
 * @example
 * tiledUntil(10_500, 1_000); // 10_000: the hops before 10_000 are tiles, later events raw
 */
export function tiledUntil(asOf: number, hopMs: number): number {
  return floorToHop(asOf, hopMs);
}

/**
 * The earliest event time a state cut at `asOf` keeps raw: the earliest window start at `asOf`,
 * except that a hopped window marked `tiled` keeps raw events only from {@link tiledUntil} (its
 * closed hops are tiles). With nothing tiled this is {@link retentionHorizon}.
 *
 * @example
 * rawEventsHorizon(10_500, [{ windowMs: 2_000 }, { windowMs: 3_000, hopMs: 1_000, tiled: true }]); // 8_500
 */
export function rawEventsHorizon(asOf: number, windows: readonly (WindowSpec & { readonly tiled?: boolean })[]): number {
  return earliestKept(asOf, windows, true);
}

function earliestKept(asOf: number, windows: readonly (WindowSpec & { readonly tiled?: boolean })[], tiles: boolean): number {
  let horizon = asOf;
  for (const w of windows) {
    if (w.windowMs === undefined) continue;
    const from = tiles && w.tiled === true && w.hopMs !== undefined ? tiledUntil(asOf, w.hopMs) : windowAt(asOf, w.windowMs, w.hopMs).start;
    horizon = Math.min(horizon, from);
  }
  return horizon;
}
