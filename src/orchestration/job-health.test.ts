import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, batchSource } from '../definitions/index.js';
import { clearRemovedConditions } from '../observability/status/clear-removed-conditions.js';
import type { SluiceContext } from '../context.js';
import { sqliteMetadataStore } from '../storage/metadata/sqlite/index.js';
import { failureEndedSince, reportRunHealth } from './job-health.js';

test('materialize conditions end by coverage: a failed run of several views waits for each view it left, and a run of several views ends its views\' own conditions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-job-health-'));
  const metadata = sqliteMetadataStore({ path: join(dir, 'm.db') });
  const ctx = { metadata, now: () => Date.now() } as unknown as SluiceContext;
  const firing = async () => (await metadata.health.list({ firing: true })).map((c) => [c.subject, c.details?.viewsLeft ?? null]);
  try {
    const single = { id: 'r1', job: 'materialize', params: { views: ['a'] }, startedAt: 1, finishedAt: 2 };
    await reportRunHealth(ctx, single, { ok: false, error: new Error('boom') });
    // A full run that switched in "a" before it was stopped leaves "b" and "c", and ends "a"'s own condition.
    await metadata.materialized.record({ view: 'a', viewHash: 'h', materializedAt: 1, runId: 'r2' });
    await reportRunHealth(ctx, { id: 'r2', job: 'materialize', params: { views: ['a', 'b', 'c'] } }, { ok: false, error: new Error('interrupted (SIGINT): materialize stopped') });
    expect(await firing()).toEqual([['job:materialize', ['b', 'c']]]);
    expect(failureEndedSince(single, await metadata.health.list({ firing: false }))).toBe(true);
    expect((await metadata.health.list({ firing: true })).find((c) => c.subject === 'job:materialize')?.message).toMatch(/: interrupted \(SIGINT\): materialize stopped; views not materialized since: b, c$/);
    // A run of "a" and "b" ends "a"'s own condition and its part of the all-views one, not all of it.
    await reportRunHealth(ctx, { id: 'r3', job: 'materialize', params: { views: ['a', 'b'] } }, { ok: true });
    expect(await firing()).toEqual([['job:materialize', ['c']]]);
    expect(failureEndedSince(single, await metadata.health.list({ firing: false }))).toBe(true);
    // A catalogue job of the last view ends it.
    await reportRunHealth(ctx, { id: 'r4', job: 'materialize:c', params: { views: ['c'] } }, { ok: true });
    expect(await firing()).toEqual([]);
    // A later failure of several views fires again with the views that run left.
    await reportRunHealth(ctx, { id: 'r5', job: 'materialize', params: { views: ['a', 'b'] } }, { ok: false, error: new Error('boom') });
    expect(await firing()).toEqual([['job:materialize', ['a', 'b']]]);
  } finally {
    await metadata.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A metadata store in a fresh directory, and a context whose clock is `now` (as a platform's own clock may be, behind wall time). */
function store(now: () => number) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-job-health-'));
  const metadata = sqliteMetadataStore({ path: join(dir, 'm.db') });
  cleanup.push(async () => {
    await metadata.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ctx = { metadata, now } as unknown as SluiceContext;
  const firing = async () => (await metadata.health.list({ firing: true })).map((c) => [c.subject, c.details?.viewsLeft ?? null]);
  return { metadata, ctx, firing };
}

test('a view the project no longer declares counts as done: the all-views condition it was left in ends without it', async () => {
  const { metadata, ctx, firing } = store(() => Date.now());
  const customer = entity({ name: 'customer', joinKey: 'customer_id' });
  const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
  const view = (name: string) => featureView({ name, entity: customer, source: txns, features: { n: count() } });
  const project = compileProject(defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [view('a'), view('b')] }));
  await reportRunHealth(ctx, { id: 'r1', job: 'materialize', params: { views: ['a', 'b', 'old'] } }, { ok: false, error: new Error('interrupted') });
  // "old" is removed from the project; the remaining views are materialized.
  await reportRunHealth(ctx, { id: 'r2', job: 'materialize', params: { views: ['a', 'b'] } }, { ok: true });
  expect(await firing()).toEqual([['job:materialize', ['old']]]);
  await clearRemovedConditions(ctx, project);
  expect(await firing()).toEqual([]);
  // A view left with others still declared: only it is dropped from the list.
  await reportRunHealth(ctx, { id: 'r3', job: 'materialize', params: { views: ['a', 'old'] } }, { ok: false, error: new Error('boom') });
  await clearRemovedConditions(ctx, project);
  const [left] = await metadata.health.list({ firing: true });
  expect([left?.details?.viewsLeft, left?.message]).toEqual([['a'], 'job materialize failed (run r3): boom; views not materialized since: a']);
});

test('a failed run of several views that switched every view in names no empty list, and a failed run ends the own conditions of the views it switched in', async () => {
  const { metadata, ctx } = store(() => Date.now());
  for (const v of ['a', 'b']) await metadata.materialized.record({ view: v, viewHash: 'h', materializedAt: 1, runId: 'r9' });
  await reportRunHealth(ctx, { id: 'r9', job: 'materialize', params: { views: ['a', 'b'] } }, { ok: false, error: new Error('lineage emit failed') });
  const [all] = await metadata.health.list({ firing: true });
  expect([all?.subject, all?.details?.viewsLeft, all?.message]).toEqual(['job:materialize', [], 'job materialize failed (run r9): lineage emit failed']);

  const other = store(() => Date.now());
  await reportRunHealth(other.ctx, { id: 's1', job: 'materialize', params: { views: ['a'] } }, { ok: false, error: new Error('boom') });
  await other.metadata.materialized.record({ view: 'a', viewHash: 'h', materializedAt: 1, runId: 's2' });
  await reportRunHealth(other.ctx, { id: 's2', job: 'materialize', params: { views: ['a', 'b'] } }, { ok: false, error: new Error('interrupted') });
  expect(await other.firing()).toEqual([['job:materialize', ['b']]]);
});

test('a successful run of one view ends its own condition (job:materialize:<view>), as a retried rebuild does', async () => {
  const { metadata, ctx } = store(() => Date.now());
  await reportRunHealth(ctx, { id: 'u1', job: 'materialize', params: { views: ['balances'], trigger: 'recovery' } }, { ok: false, error: new Error('file gone') });
  expect((await metadata.health.list({ firing: true })).map((c) => c.subject)).toEqual(['job:materialize:balances']);
  await reportRunHealth(ctx, { id: 'u2', job: 'materialize', params: { views: ['balances'], trigger: 'recovery' } }, { ok: true });
  expect(await metadata.health.list({ firing: true })).toEqual([]);
});

test('whether a failure was ended since compares the run it ended, not times of two clocks', async () => {
  // The platform's clock is years behind the wall clock the run records use.
  const { metadata, ctx } = store(() => Date.parse('2024-01-01T00:00:00Z'));
  const failed = { id: 'f1', job: 'materialize', params: { views: ['a', 'b'] }, startedAt: Date.now() - 1000, finishedAt: Date.now() };
  await reportRunHealth(ctx, failed, { ok: false, error: new Error('x') });
  await reportRunHealth(ctx, { id: 'f2', job: 'materialize', params: { views: ['a'] } }, { ok: true });
  expect(failureEndedSince(failed, await metadata.health.list({ firing: false }))).toBe(false);
  await reportRunHealth(ctx, { id: 'f3', job: 'materialize', params: { views: ['b'] } }, { ok: true });
  expect(failureEndedSince(failed, await metadata.health.list({ firing: false }))).toBe(true);
  // A later failed run whose failure was never reported (its process died): the condition that ended is an earlier run's.
  const died = { ...failed, id: 'f4', startedAt: failed.finishedAt + 1, finishedAt: failed.finishedAt + 2 };
  expect(failureEndedSince(died, await metadata.health.list({ firing: false }))).toBe(false);
  // The same for a view's own condition.
  const single = { id: 'g1', job: 'materialize', params: { views: ['c'] }, startedAt: Date.now(), finishedAt: Date.now() };
  await reportRunHealth(ctx, single, { ok: false, error: new Error('y') });
  await reportRunHealth(ctx, { id: 'g2', job: 'materialize', params: { views: ['c', 'd'] } }, { ok: true });
  expect(failureEndedSince(single, await metadata.health.list({ firing: false }))).toBe(true);
  expect(failureEndedSince({ ...single, id: 'g3', finishedAt: single.finishedAt + 1 }, await metadata.health.list({ firing: false }))).toBe(false);
});

test('a full materialize whose death is noticed late leaves only the views no run has materialized since it started: a later run covered the others meanwhile', async () => {
  const { metadata, ctx, firing } = store(() => Date.now());
  const holder = { holder: { id: 'h', host: 'x', pid: 1 }, ttlMs: 60_000 };
  const dead = await metadata.startRun('materialize', { views: ['txn_stats', 'small_txns', 'profile'] }, holder);
  // Before its death is noticed, another run materializes two of its views.
  const later = await metadata.startRun('materialize', { views: ['small_txns', 'profile'] }, holder);
  for (const view of ['small_txns', 'profile']) await metadata.materialized.record({ view, viewHash: 'h', materializedAt: 1, runId: later.id });
  await metadata.finishRun(later.id, { status: 'succeeded' });
  await reportRunHealth(ctx, later, { ok: true });
  // Then its death is reported (as reapDeadRuns does).
  await reportRunHealth(ctx, dead, { ok: false, error: new Error('the process running it died') });
  expect(await firing()).toEqual([['job:materialize', ['txn_stats']]]);
  await reportRunHealth(ctx, { id: 'r3', job: 'materialize', params: { views: ['txn_stats'] } }, { ok: true });
  expect(await firing()).toEqual([]);
});
