import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
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
    // A full run that switched in "a" before it was stopped leaves "b" and "c".
    await metadata.materialized.record({ view: 'a', viewHash: 'h', materializedAt: 1, runId: 'r2' });
    await reportRunHealth(ctx, { id: 'r2', job: 'materialize', params: { views: ['a', 'b', 'c'] } }, { ok: false, error: new Error('interrupted (SIGINT): materialize stopped') });
    expect(await firing()).toEqual(expect.arrayContaining([['job:materialize:a', null], ['job:materialize', ['b', 'c']]]));
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
