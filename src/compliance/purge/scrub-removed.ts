import { existsSync } from 'node:fs';
import { isStreamed, type Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import type { ScrubReport } from '../../storage/scrub-report.js';
import { stoppedBy } from '../../errors.js';
import { testPause } from '../../orchestration/test-pause.js';

/** What clearing removed bytes achieved: stores still to be cleared (and why), and whether SQLite's log was reset. */
export interface RemovedBytesScrub {
  /** LMDB stores whose removed bytes are not yet cleared (another process has them open), each with the reason. */
  readonly scrubPending: readonly { readonly store: string; readonly reason: string }[];
  /** Whether deleted rows were also cleared from the metadata database's log. */
  readonly metadataExpunged: boolean;
}

/**
 * After a physical removal (erasure, retention), clears the removed records' bytes where they
 * could linger: the LMDB online store and durable log are rebuilt into fresh files
 * (`scrubFreed`; pending when another process holds them, finished by the next lone closer),
 * and SQLite's write-ahead log is reset (its pages are zeroed by `secure_delete`). A store left
 * pending fires the warning `scrub_pending` (`store:<store>`, shown by `sluice status`), ended
 * by the next scrub that clears it or, in `sluice status`, once its marker is gone (`endFinishedScrubs`).
 * A stop (`signal`) is met before each store's rebuild: the stores left fire `scrub_pending`
 * (the next scrub, of an erasure or a retention run, ends it), and it fails as interrupted (step `scrub`).
 *
 * @example
 * const { scrubPending } = await scrubRemovedBytes(ctx, project);
 */
export async function scrubRemovedBytes(ctx: SluiceContext, project: Project, signal?: AbortSignal): Promise<RemovedBytesScrub> {
  const stores: Array<{ store: 'online' | 'log'; scrub: () => Promise<ScrubReport> }> = [{ store: 'online', scrub: async () => (await ctx.online()).scrubFreed() }];
  if (project.sources.some(isStreamed)) stores.push({ store: 'log', scrub: async () => (await ctx.log()).scrubFreed() });
  const scrubs: Array<{ store: string; report: ScrubReport }> = [];
  for (const [i, { store, scrub }] of stores.entries()) {
    // Checked per store (a rebuild copies the whole store): the stores left say so and the scrub stops.
    if (signal?.aborted) await stopScrub(ctx, scrubs, stores.slice(i).map((s) => s.store), signal);
    scrubs.push({ store, report: await scrub() });
    await testPause(`scrub.${store}`);
  }
  await reportScrubs(ctx, scrubs);
  const { complete } = await ctx.metadata.erasure.expungeDeleted();
  return { scrubPending: scrubs.filter((s) => !s.report.compacted).map((s) => ({ store: s.store, reason: s.report.pending ?? 'not compacted' })), metadataExpunged: complete };
}

/** Fires or ends each scrubbed store's `scrub_pending` by whether its rebuild ran. */
async function reportScrubs(ctx: SluiceContext, scrubs: readonly { store: string; report: ScrubReport }[]): Promise<void> {
  const now = ctx.now();
  for (const { store, report } of scrubs) {
    await ctx.metadata.health.report(report.compacted
      ? { kind: SCRUB_PENDING, subject: `store:${store}`, firing: false, severity: 'warn', message: `the ${store} store's removed bytes are cleared` }
      : { kind: SCRUB_PENDING, subject: `store:${store}`, firing: true, severity: 'warn', message: `removed records' bytes can remain in the ${store} store: ${report.pending ?? 'not compacted'}`, details: { store, ...(report.pendingWhile === undefined ? {} : { pendingWhile: report.pendingWhile }) } }, now);
  }
}

/**
 * A scrub stopped before the stores `left`: what it did is reported, each store left fires
 * `scrub_pending` (the rows are removed, their bytes may remain in its free pages until the next
 * scrub, which ends it), and it fails with the stop's `InterruptedError` (step `scrub`).
 */
async function stopScrub(ctx: SluiceContext, scrubs: readonly { store: string; report: ScrubReport }[], left: readonly string[], signal: AbortSignal): Promise<never> {
  await reportScrubs(ctx, scrubs);
  const finish = 'running the command again (sluice erase of the same key, or sluice retention run) clears them';
  let stop = '';
  const error = stoppedBy(signal, (why) => (stop = why) && `the scrub of removed bytes stopped before the ${left.join(' and ')} store: ${why}; the rows are removed, but their bytes may remain in its free pages; ${finish}`, { step: 'scrub', scrubbed: scrubs.map((s) => s.store), left });
  for (const store of left) {
    await ctx.metadata.health.report({ kind: SCRUB_PENDING, subject: `store:${store}`, firing: true, severity: 'warn', message: `removed records' bytes can remain in the ${store} store: the scrub after a removal was stopped before it (${stop}); ${finish}`, details: { store, stopped: true } }, ctx.now());
  }
  throw error;
}

/** The warning of a store whose removed bytes are not cleared yet (`store:<store>`). */
export const SCRUB_PENDING = 'scrub_pending';

/**
 * Ends the `scrub_pending` warnings whose store has been cleared since (by the process that closed
 * it last, which no purge hears of): those whose marker file (`pendingWhile`) is gone. `sluice
 * status` runs it; the warning is fired and ended by `scrubRemovedBytes` otherwise.
 *
 * @example
 * await endFinishedScrubs(platform);
 */
export async function endFinishedScrubs(ctx: SluiceContext): Promise<void> {
  for (const c of await ctx.metadata.health.list({ firing: true, kind: SCRUB_PENDING })) {
    const marker = c.details?.pendingWhile;
    if (typeof marker === 'string' && !existsSync(marker)) {
      await ctx.metadata.health.report({ kind: SCRUB_PENDING, subject: c.subject, firing: false, severity: 'warn', message: `${c.subject}: its removed bytes are cleared` }, ctx.now());
    }
  }
}
