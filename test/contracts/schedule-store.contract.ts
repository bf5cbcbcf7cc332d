import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import { runLeaseName, type Lease, type MetadataStore } from '../../src/storage/metadata/metadata-store.js';

const alive = { id: 'h1', host: 'host-a', pid: 1 };
const other = { id: 'h2', host: 'host-b', pid: 2 };
const claim = (key: string, holder = alive) => ({ key, job: 'materialize:v', trigger: 'schedule' as const, scheduledFor: 600_000, holder });
const nobodyGone = (): boolean => false;
const goneIf = (id: string) => (lease: Lease): boolean => lease.holder.id === id;

/** The semantics every ScheduleStore keeps (see `schedule-store.ts`). */
export function runScheduleStoreContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body);

  test(`${name}: of many claimers of one key (several handles, like processes), exactly one wins; the key is stored once`, run(async (h, store) => {
    const handles = [store, await h.open(), await h.open()];
    try {
      const results = await Promise.all(handles.flatMap((s, i) => [s.schedules.claim(claim('k', { ...alive, id: `h${i}a` }), 1), s.schedules.claim(claim('k', { ...alive, id: `h${i}b` }), 1)]));
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      expect(await store.schedules.list({})).toHaveLength(1);
    } finally {
      await handles[1]!.close();
      await handles[2]!.close();
    }
  }));

  test(`${name}: without reclaim a key is never claimed again, whatever its status; attempts count from 1 and link runs`, run(async (_h, store) => {
    const s = store.schedules;
    expect((await s.claim(claim('k'), 10)).record).toMatchObject({ key: 'k', job: 'materialize:v', trigger: 'schedule', scheduledFor: 600_000, status: 'running', attempts: 0, claimedAt: 10, holder: alive });
    expect(await s.startAttempt('k', 'run-1')).toBe(1);
    expect(await s.startAttempt('k', 'run-2')).toBe(2);
    await s.finish('k', { status: 'failed', error: 'boom' }, 20);
    expect(await s.get('k')).toMatchObject({ status: 'failed', attempts: 2, lastRunId: 'run-2', finishedAt: 20, error: 'boom' });
    expect((await s.claim(claim('k', other), 30)).claimed).toBe(false);
    expect((await s.claim(claim('k', other), 30, { reclaim: nobodyGone })).claimed).toBe(true);
    expect(await s.get('k')).toMatchObject({ status: 'running', attempts: 2, holder: other, finishedAt: null, error: null });
    expect(await s.startAttempt('k', 'run-3')).toBe(3);
    await s.finish('k', { status: 'succeeded' }, 40);
    expect((await s.claim(claim('k'), 50, { reclaim: () => true })).claimed).toBe(false);
    // A re-run (backfill --rerun) claims a succeeded key again, attempts counting on; never a live running one.
    expect((await s.claim(claim('k', other), 60, { reclaim: nobodyGone, rerun: true })).record).toMatchObject({ status: 'running', attempts: 3, holder: other });
    expect((await s.claim(claim('k'), 70, { reclaim: nobodyGone, rerun: true })).claimed).toBe(false);
    await expect(s.startAttempt('never', 'run-x')).rejects.toThrow();
  }));

  test(`${name}: with reclaim, a running key is taken over only when its claimer is gone`, run(async (_h, store) => {
    const s = store.schedules;
    await s.claim(claim('early'), 1);
    expect((await s.claim(claim('early', other), 2, { reclaim: nobodyGone })).claimed).toBe(false);
    expect((await s.claim(claim('early', other), 2, { reclaim: goneIf('h1') })).claimed).toBe(true);
    // While its run runs, the run's lease says whether the claimer lives: no lease, gone.
    await s.claim(claim('late'), 1);
    const run = await store.startRun('materialize:v', {}, { holder: alive, ttlMs: 60_000 });
    await s.startAttempt('late', run.id);
    expect((await s.claim(claim('late', other), 2, { reclaim: nobodyGone })).claimed).toBe(false);
    await store.releaseLease(runLeaseName(run.id), alive.id);
    expect((await s.claim(claim('late', other), 2, { reclaim: nobodyGone })).claimed).toBe(true);
    // Once its run has finished (a retry's backoff, or before the key is settled), the claimer itself does.
    await s.claim(claim('between'), 1);
    const first = await store.startRun('materialize:v', {}, { holder: alive, ttlMs: 60_000 });
    await s.startAttempt('between', first.id);
    await store.finishRun(first.id, { status: 'failed', error: 'attempt 1 failed' });
    expect((await s.claim(claim('between', other), 2, { reclaim: nobodyGone })).claimed).toBe(false);
    expect((await s.claim(claim('between', other), 2, { reclaim: goneIf('h1') })).claimed).toBe(true);
  }));

  test(`${name}: lists by job and by key prefix, newest claim first; cursors only move forward`, run(async (_h, store) => {
    const s = store.schedules;
    await s.claim(claim('materialize:v@1'), 1);
    await s.claim({ ...claim('ingest:p@2026-01-01/2026-01-02'), job: 'ingest:p', trigger: 'backfill' }, 2);
    await s.claim(claim('materialize:v@2'), 3);
    expect((await s.list({ job: 'materialize:v' })).map((r) => r.key)).toEqual(['materialize:v@2', 'materialize:v@1']);
    expect((await s.list({ prefix: 'ingest:p@' })).map((r) => r.trigger)).toEqual(['backfill']);
    expect((await s.list({ limit: 1 })).map((r) => r.key)).toEqual(['materialize:v@2']);
    expect(await s.cursor('sched')).toBeUndefined();
    await s.advanceCursor('sched', 100);
    await s.advanceCursor('sched', 50);
    expect(await s.cursor('sched')).toBe(100);
  }));
}
