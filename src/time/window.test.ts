import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import { eventRange, floorToHop, inWindow, rawEventsHorizon, retentionHorizon, tiledUntil, windowAt, windowStartAt, windowPredicateSql, windowReachMs } from './index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('hopped windows hold floor(t - W, hop) <= ts < t', () => {
  test('floorToHop rounds toward -Infinity from the epoch, before 1970 included', () => {
    expect(floorToHop(7_500, 1_000)).toBe(7_000);
    expect(floorToHop(7_000, 1_000)).toBe(7_000);
    expect(floorToHop(0, 1_000)).toBe(0);
    expect(floorToHop(-1, 1_000)).toBe(-1_000);
    expect(floorToHop(-1_000, 1_000)).toBe(-1_000);
    expect(floorToHop(-1_001, 1_000)).toBe(-2_000);
    expect(Object.is(floorToHop(-1_000, 1_000), -1_000)).toBe(true);
    // Year 1: far before 1970, still exact.
    const year1 = Date.parse('0001-01-01T05:30:00Z');
    expect(floorToHop(year1, DAY)).toBe(Date.parse('0001-01-01T00:00:00Z'));
    expect(year1 - floorToHop(year1, DAY)).toBeGreaterThanOrEqual(0);
    expect(year1 - floorToHop(year1, DAY)).toBeLessThan(DAY);
  });

  test('edges: the tail moves in hops, the head slides', () => {
    // W = 3s, hop = 1s: at t = 10.5s the window starts at floor(7.5s) = 7s.
    const w = windowAt(10_500, 3_000, 1_000);
    expect(w).toEqual({ start: 7_000, end: 10_500 });
    expect(inWindow(6_999, w)).toBe(false);
    expect(inWindow(7_000, w)).toBe(true);
    expect(inWindow(10_499, w)).toBe(true);
    expect(inWindow(10_500, w)).toBe(false);
    // t exactly on a hop boundary: the hopped window is the exact window.
    expect(windowAt(10_000, 3_000, 1_000)).toEqual(windowAt(10_000, 3_000));
    // One ms before the boundary, the window still holds almost a whole extra hop.
    expect(windowAt(9_999, 3_000, 1_000)).toEqual({ start: 6_000, end: 9_999 });
    // Before 1970.
    expect(windowAt(-500, 3_000, 1_000)).toEqual({ start: -4_000, end: -500 });
    expect(windowAt(-1_000, 3_000, 1_000)).toEqual({ start: -4_000, end: -1_000 });
    expect(eventRange(new Float64Array([-4_001, -4_000, -600, -500]), windowAt(-500, 3_000, 1_000))).toEqual([1, 3]);
    // The start alone (the serving hot path), the same arithmetic.
    expect([windowStartAt(-500, 3_000, 1_000), windowStartAt(10_500, 3_000), windowStartAt(10_500, undefined)]).toEqual([-4_000, 7_500, -Infinity]);
  });

  test('the start never moves back as t grows, and stays within the reach', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e14, max: 1e14 }), fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 30 }), (t, dt, hop, hops) => {
        const windowMs = hop * hops;
        const a = windowAt(t, windowMs, hop);
        const b = windowAt(t + dt, windowMs, hop);
        expect(b.start).toBeGreaterThanOrEqual(a.start);
        expect(a.start).toBeLessThanOrEqual(t - windowMs);
        expect(a.start).toBeGreaterThan(t - windowReachMs(windowMs, hop));
        expect(floorToHop(a.start, hop)).toBe(a.start);
      }),
    );
  });

  test('the SQL predicate selects exactly the events windowAt holds (DuckDB, negative times, hop boundaries)', async () => {
    const engine = await duckDbEngine({ threads: 1 });
    try {
      const cases = fc.sample(
        fc.record({
          t: fc.oneof(fc.integer({ min: -20_000, max: 20_000 }), fc.constantFrom(-3_000, -1_000, 0, 1_000, 3_000)),
          ts: fc.integer({ min: -25_000, max: 25_000 }),
          hop: fc.constantFrom(1, 7, 1_000, 2_500),
          hops: fc.integer({ min: 1, max: 4 }),
        }),
        { numRuns: 400, seed: 6 },
      );
      const rows = cases.map(({ t, ts, hop, hops }, i) => `(${i}, ${ts}::BIGINT, ${t}::BIGINT, ${hop * hops}, ${hop})`);
      // One predicate per (window, hop) pair, as SQL text: the window and hop are literals there.
      const pairs = [...new Set(cases.map(({ hop, hops }) => `${hop * hops}:${hop}`))].map((p) => p.split(':').map(Number) as [number, number]);
      const when = pairs.map(([w, h]) => `WHEN w = ${w} AND h = ${h} THEN ${windowPredicateSql('ts', 't', w, h)}`).join(' ');
      const got = await engine.all<{ inside: boolean }>(`SELECT CASE ${when} END AS inside FROM (VALUES ${rows.join(', ')}) v(i, ts, t, w, h) ORDER BY i`);
      expect(got.map((r) => r.inside)).toEqual(cases.map(({ t, ts, hop, hops }) => inWindow(ts, windowAt(t, hop * hops, hop))));
      const [exact] = await engine.all<{ inside: boolean }>(`SELECT ${windowPredicateSql('-4000::BIGINT', '-1000::BIGINT', 3_000)} AS inside`);
      expect(exact!.inside).toBe(true);
    } finally {
      await engine.close();
    }
  });

  test('the retention horizon is the earliest window start at asOf, whatever window has the longest length', () => {
    expect(retentionHorizon(10 * DAY + 5 * HOUR, [{ windowMs: DAY }])).toBe(9 * DAY + 5 * HOUR);
    // A 2d window hopping by 1d reaches back to the day boundary (8d), before a 1d20h exact window's start;
    // a 2d6h exact window reaches further still.
    expect(retentionHorizon(10 * DAY + 5 * HOUR, [{ windowMs: 2 * DAY, hopMs: DAY }, { windowMs: DAY + 20 * HOUR }])).toBe(8 * DAY);
    expect(retentionHorizon(10 * DAY + 5 * HOUR, [{ windowMs: 2 * DAY, hopMs: DAY }, { windowMs: 2 * DAY + 6 * HOUR }])).toBe(7 * DAY + 23 * HOUR);
    expect(retentionHorizon(1_000, [{}, { windowMs: undefined }])).toBe(1_000);
    expect(retentionHorizon(-500, [{ windowMs: 3_000, hopMs: 1_000 }])).toBe(-4_000);
  });

  test('tiles of a hopped window end at the open hop; a state keeps raw events from the earliest of that and the exact windows\' starts', () => {
    expect(tiledUntil(10 * DAY + 5 * HOUR, HOUR)).toBe(10 * DAY + 5 * HOUR);
    expect(tiledUntil(-1, 1_000)).toBe(-1_000);
    const asOf = 10 * DAY + 5 * HOUR + 30 * 60_000;
    const hopped = { windowMs: 2 * DAY, hopMs: HOUR, tiled: true };
    expect(rawEventsHorizon(asOf, [hopped])).toBe(10 * DAY + 5 * HOUR);
    expect(rawEventsHorizon(asOf, [hopped, { windowMs: HOUR }])).toBe(10 * DAY + 4 * HOUR + 30 * 60_000);
    expect(rawEventsHorizon(asOf, [{ ...hopped, tiled: false }])).toBe(retentionHorizon(asOf, [hopped]));
    // Every window at t >= asOf holds whole tiles (its start is a hop boundary at or after the tiles' first) and raw events from tiledUntil.
    fc.assert(fc.property(fc.integer({ min: -10_000, max: 10_000 }), fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 300 }), (at, later, hops, hop) => {
      const start = windowAt(at + later, hops * hop, hop).start;
      expect(start).toBeGreaterThanOrEqual(windowAt(at, hops * hop, hop).start);
      expect(floorToHop(start, hop)).toBe(start);
      expect(tiledUntil(at, hop)).toBeLessThanOrEqual(at + later);
    }));
  });
});
