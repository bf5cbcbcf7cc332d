import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { lmdbEventLog } from './lmdb-event-log.js';

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LMDB event log', () => {
  test('appends get increasing offsets per source, concurrently too, and read back in order after reopening', async () => {
    const path = fresh();
    const log = lmdbEventLog({ path });
    const appends = Array.from({ length: 50 }, (_, i) => log.append(i % 2 ? 'a' : 'b', { ackTime: 1000 + i, origin: 'push', events: [`{"n":${i}}`], rejected: [] }));
    const offsets = (await Promise.all(appends)).map((r) => r.offset);
    expect(new Set(offsets.filter((_, i) => i % 2)).size).toBe(25);
    await log.close();
    const again = lmdbEventLog({ path });
    expect(again.head('a')).toBe(25);
    const entries = again.read('a', 0, 100);
    expect(entries.map((e) => e.offset)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(entries.map((e) => JSON.parse(e.events[0]!).n)).toEqual(Array.from({ length: 25 }, (_, i) => 2 * i + 1));
    expect(again.read('a', 20, 3).map((e) => e.offset)).toEqual([21, 22, 23]);
    await again.close();
  });

  test('event ids are deduplicated within the horizon, inside a batch and across batches', async () => {
    const log = lmdbEventLog({ path: fresh(), dedupeHorizonMs: 1000 });
    const first = await log.append('s', { ackTime: 0, origin: 'push', events: ['a', 'b', 'a2'], ids: ['1', '2', '1'], rejected: [] });
    expect(first.duplicates).toEqual([2]);
    const second = await log.append('s', { ackTime: 500, origin: 'push', events: ['c', 'b'], ids: ['3', '2'], rejected: [] });
    expect(second.duplicates).toEqual([1]);
    expect(log.read('s', 1, 10)[0]!.events).toEqual(['c']);
    // Past the horizon the id is forgotten.
    const third = await log.append('s', { ackTime: 1500, origin: 'push', events: ['a3'], ids: ['1'], rejected: [] });
    expect(third.duplicates).toEqual([]);
    await log.close();
  });

  test('remembered: which ids an append would find duplicates (appended or claimed, within the horizon), without writing', async () => {
    const log = lmdbEventLog({ path: fresh(), dedupeHorizonMs: 1000 });
    await log.append('s', { ackTime: 0, origin: 'push', events: ['a'], ids: ['1'], rejected: [] });
    await log.claimIds('s', 'file-a', ['2'], 500, 'p1');
    expect(log.remembered('s', ['3', '1', '2', '1'], 600)).toEqual([1, 2, 3]);
    expect(log.remembered('t', ['1'], 600)).toEqual([]);
    // Past the horizon of its append, id 1 is no longer remembered; asking remembered nothing.
    expect(log.remembered('s', ['1', '2', '3'], 1000)).toEqual([1]);
    expect((await log.append('s', { ackTime: 1000, origin: 'push', events: ['c'], ids: ['3'], rejected: [] })).duplicates).toEqual([]);
    await log.close();
  });

  test('claimed ids (a file ingest) are duplicates for appends and claims; a claim settled as not committed, or past the horizon, frees them; open claims survive a reopen', async () => {
    const path = fresh();
    const log = lmdbEventLog({ path, dedupeHorizonMs: 1000 });
    await log.append('s', { ackTime: 0, origin: 'push', events: ['a'], ids: ['1'], rejected: [] });
    expect(await log.claimIds('s', 'file-a', ['1', '2', '3', '2'], 100, 'p1')).toEqual([0, 3]);
    expect((await log.append('s', { ackTime: 200, origin: 'push', events: ['b', 'd'], ids: ['2', '4'], rejected: [] })).duplicates).toEqual([0]);
    await log.settleClaim('s', 'file-a', true);
    expect(await log.claimIds('s', 'file-b', ['3', '5'], 300, 'p2')).toEqual([0]);
    await log.close();
    const again = lmdbEventLog({ path, dedupeHorizonMs: 1000 });
    expect(again.openClaims('s')).toEqual([{ claim: 'file-b', claimer: 'p2' }]);
    // Settling for a claimer that no longer has the claim (it was claimed again by another) leaves it.
    await again.settleClaim('s', 'file-b', false, 'p1');
    expect(again.openClaims('s')).toEqual([{ claim: 'file-b', claimer: 'p2' }]);
    await again.settleClaim('s', 'file-b', false, 'p2');
    expect(again.openClaims('s')).toEqual([]);
    expect((await again.append('s', { ackTime: 400, origin: 'push', events: ['e', 'c'], ids: ['5', '3'], rejected: [] })).duplicates).toEqual([1]);
    // Past the horizon, trim forgets claimed ids as it forgets appended ones.
    await again.trim('s', 0, 1200);
    expect((await again.append('s', { ackTime: 1200, origin: 'push', events: ['c'], ids: ['3'], rejected: [] })).duplicates).toEqual([]);
    await again.close();
  });

  test('a rejected event handed in again within the horizon (a retried batch) is kept once, so it is dead-lettered once', async () => {
    const log = lmdbEventLog({ path: fresh(), dedupeHorizonMs: 1000 });
    const bad = { index: 1, raw: '{"id":"9","v":"x"}', reason: 'column "v"' };
    const late = { index: 2, raw: '{"id":"8","ts":0}', reason: 'late' };
    await log.append('s', { ackTime: 0, origin: 'push', events: ['a'], ids: ['1'], rejected: [bad, late] });
    // The retry: the same events (the accepted one a duplicate), and a corrected event 9.
    const retry = await log.append('s', { ackTime: 400, origin: 'push', events: ['a', '{"id":"9","v":1}'], ids: ['1', '9'], rejected: [late, { ...bad, index: 3 }] });
    expect(retry.duplicates).toEqual([0]);
    // Both rejections are repeats (indices into the append's rejected): answered as such, counted once.
    expect(retry.repeated).toEqual([0, 1]);
    expect(log.read('s', 1, 1)[0]).toMatchObject({ events: ['{"id":"9","v":1}'], rejected: [] });
    // Past the horizon it is a new refusal.
    await log.append('s', { ackTime: 1500, origin: 'push', events: [], ids: [], rejected: [bad] });
    expect(log.read('s', 2, 1)[0]!.rejected).toEqual([bad]);
    expect(await log.trim('s', 0, 2600)).toBe(0);
    await log.append('s', { ackTime: 2600, origin: 'push', events: [], ids: [], rejected: [bad] });
    expect(log.read('s', 3, 1)[0]!.rejected).toEqual([bad]);
    await log.close();
  });

  test('positions, checkpoints and trim', async () => {
    const log = lmdbEventLog({ path: fresh() });
    for (let i = 1; i <= 5; i++) await log.append('s', { ackTime: i, origin: 'nats', events: ['x'], rejected: [{ index: 1, raw: 'y', reason: 'bad' }], position: String(i * 10) });
    expect(log.position('s', 'nats')).toBe('50');
    expect(log.position('s', 'push')).toBeUndefined();
    expect(log.checkpoint('lake', 's')).toBe(0);
    await log.setCheckpoint('lake', 's', 3);
    expect(log.checkpoint('lake', 's')).toBe(3);
    expect(await log.trim('s', 3, 5)).toBe(3);
    expect(log.read('s', 0, 10).map((e) => e.offset)).toEqual([4, 5]);
    expect(log.read('s', 0, 10)[0]!.rejected).toEqual([{ index: 1, raw: 'y', reason: 'bad' }]);
    expect(log.head('s')).toBe(5);
    await log.close();
  });

  test('trim forgets exactly the ids that expired, keeping an id accepted again after it expired', async () => {
    const log = lmdbEventLog({ path: fresh(), dedupeHorizonMs: 1000 });
    await log.append('s', { ackTime: 0, origin: 'push', events: ['a', 'b'], ids: ['1', '2'], rejected: [] });
    await log.append('s', { ackTime: 600, origin: 'push', events: ['c'], ids: ['3'], rejected: [] });
    // Id 1 expired at 1000 and is accepted again, until 2200.
    expect((await log.append('s', { ackTime: 1200, origin: 'push', events: ['a2'], ids: ['1'], rejected: [] })).duplicates).toEqual([]);
    await log.append('t', { ackTime: 0, origin: 'push', events: ['x'], ids: ['1'], rejected: [] });
    await log.trim('s', 0, 1300);
    // A trim forgets the remembered id 2 (expired); 1 (remembered again) and 3 (not expired) stay, and source t is untouched.
    const again = await log.append('s', { ackTime: 1300, origin: 'push', events: ['a3', 'b2', 'c2'], ids: ['1', '2', '3'], rejected: [] });
    expect(again.duplicates).toEqual([0, 2]);
    expect((await log.append('t', { ackTime: 500, origin: 'push', events: ['x2'], ids: ['1'], rejected: [] })).duplicates).toEqual([0]);
    await log.close();
  });

  test('lastKept: the acknowledgement of the newest entry that kept an event; entries of rejected events or duplicates only do not move it (review rev10 finding 5)', async () => {
    const log = lmdbEventLog({ path: fresh() });
    expect(log.lastKept('s')).toBeUndefined();
    await log.append('s', { ackTime: 10, origin: 'push', events: ['{"n":1}'], ids: ['1'], rejected: [] });
    await log.append('s', { ackTime: 20, origin: 'push', events: [], rejected: [{ index: 0, raw: '{"n":"x"}', reason: 'late' }] });
    await log.append('s', { ackTime: 30, origin: 'push', events: ['{"n":1}'], ids: ['1'], rejected: [] });
    expect(log.acknowledged('s', 0, 10).map((a) => a.ackTime)).toEqual([10, 20, 30]);
    expect(log.lastKept('s')).toBe(10);
    await log.append('s', { ackTime: 40, origin: 'push', events: ['{"n":2}'], ids: ['2'], rejected: [] });
    expect(log.lastKept('s')).toBe(40);
    expect(log.lastKept('other')).toBeUndefined();
    await log.close();
  });

  test('acknowledged gives offsets and acknowledgement times without events, and trim drops them with the entries', async () => {
    const log = lmdbEventLog({ path: fresh() });
    for (let i = 1; i <= 4; i++) await log.append('s', { ackTime: i * 100, origin: 'push', events: ['x'], rejected: [] });
    expect(log.acknowledged('s', 1, 2)).toEqual([{ offset: 2, ackTime: 200 }, { offset: 3, ackTime: 300 }]);
    await log.trim('s', 2, 0);
    expect(log.acknowledged('s', 0, 10)).toEqual([{ offset: 3, ackTime: 300 }, { offset: 4, ackTime: 400 }]);
    expect(log.acknowledged('other', 0, 10)).toEqual([]);
    await log.close();
  });
  test('removed events leave the dedupe memory: their ids (and removed rejected texts) are forgotten, the others still deduplicate; forgetIds reaches ids of trimmed entries', async () => {
    const log = lmdbEventLog({ path: fresh() });
    const batch = (ackTime: number, ids: string[], rejected: string[] = []) => ({ ackTime, origin: 'push', events: ids.map((id) => JSON.stringify({ id })), ids, rejected: rejected.map((raw, index) => ({ index, raw, reason: 'bad' })) });
    await log.append('s', batch(1000, ['e1', 'gone-1', 'e2'], ['{"id":"gone-x"']));
    const removed = await log.removeEvents('s', (text) => text.includes('gone'));
    expect(removed.events).toBe(2);
    // Sent again: the removed ones are new (accepted, or rejected and dead-lettered again), the kept ones duplicates.
    const again = await log.append('s', batch(2000, ['e1', 'gone-1', 'e2'], ['{"id":"gone-x"']));
    expect(again.duplicates).toEqual([0, 2]);
    expect(log.read('s', 1, 10)[0]!.events).toEqual(['{"id":"gone-1"}']);
    expect(log.read('s', 1, 10)[0]!.rejected).toHaveLength(1);
    // An entry trimmed away (its events in the lake) still has its ids remembered until forgotten.
    await log.append('s', batch(3000, ['t1', 't2']));
    await log.trim('s', log.head('s'), 3000);
    expect(await log.forgetIds('s', ['t1', 'nope'])).toBe(1);
    expect((await log.append('s', batch(4000, ['t1', 't2']))).duplicates).toEqual([1]);
    await log.close();
  });
});
