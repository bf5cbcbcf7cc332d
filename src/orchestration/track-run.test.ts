import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import type { SluiceContext } from '../context.js';
import type { RunTransition } from '../observability/lineage/run-event.js';
import { runLeaseName, type MetadataStore } from '../storage/metadata/metadata-store.js';
import { sqliteMetadataStore } from '../storage/metadata/sqlite/index.js';
import { reapDeadRuns, trackRun } from './track-run.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A context whose run records take `delayMs` to come back from `startRun` (a busy store), with its lineage events captured. */
function slowStart(delayMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-track-run-'));
  dirs.push(dir);
  const metadata = sqliteMetadataStore({ path: join(dir, 'm.db') });
  const events: RunTransition[] = [];
  const slow: MetadataStore = Object.assign(Object.create(metadata) as MetadataStore, {
    startRun: async (...args: Parameters<MetadataStore['startRun']>) => {
      const run = await metadata.startRun(...args);
      const until = Date.now() + delayMs;
      while (Date.now() < until);
      return run;
    },
  });
  const ctx = { metadata: slow, now: () => Date.now(), lineage: { namespace: 'n', emit: (e: RunTransition) => events.push(e), close: async () => undefined } } as unknown as SluiceContext;
  return { ctx, metadata, events };
}

test('a run\'s START is dated at its record\'s start, and its end (COMPLETE) never before it', async () => {
  const { ctx, metadata, events } = slowStart(5);
  await trackRun(ctx, 'ingest', { source: 's' }, async () => ({ result: undefined, stats: {} }));
  const [run] = await metadata.listRuns(1);
  expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
  expect(events[0]!.at).toBe(run!.startedAt);
  expect(events[1]!.at).toBeGreaterThanOrEqual(events[0]!.at);
  expect(run!.finishedAt).toBeGreaterThanOrEqual(run!.startedAt);
});

test('a run found dead before its lease was ever renewed gets a FAIL dated no earlier than its START (the record agrees)', async () => {
  const { ctx, metadata, events } = slowStart(5);
  // The run's process "dies" inside its body: the next reap finds its lease's holder gone.
  const gone = Object.assign(Object.create(ctx.metadata) as MetadataStore, {
    failDeadRuns: (isGone: Parameters<MetadataStore['failDeadRuns']>[0]) => metadata.failDeadRuns((lease) => lease.name.startsWith(runLeaseName('')) || isGone(lease)),
  });
  const reaping = { ...ctx, metadata: gone } as SluiceContext;
  let reaped: Awaited<ReturnType<typeof reapDeadRuns>> = [];
  await expect(trackRun(ctx, 'ingest', { source: 's' }, async () => {
    reaped = await reapDeadRuns(reaping);
    throw new Error('stopped');
  })).rejects.toThrow('stopped');
  const start = events.find((e) => e.eventType === 'START')!;
  const fail = events.find((e) => e.eventType === 'FAIL')!;
  expect(reaped).toHaveLength(1);
  expect(reaped[0]!.error).toMatch(/the process running it died/);
  expect(fail.at).toBe(reaped[0]!.finishedAt);
  expect(start.at).toBe(reaped[0]!.startedAt);
  expect(fail.at).toBeGreaterThanOrEqual(start.at);
});
