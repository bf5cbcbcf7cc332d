import { existsSync } from 'node:fs';
import { isStreamed, type Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';

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
 *
 * @example
 * const { scrubPending } = await scrubRemovedBytes(ctx, project);
 */
export async function scrubRemovedBytes(ctx: SluiceContext, project: Project): Promise<RemovedBytesScrub> {
  const scrubs = [{ store: 'online', report: await (await ctx.online()).scrubFreed() }];
  if (project.sources.some(isStreamed)) scrubs.push({ store: 'log', report: await (await ctx.log()).scrubFreed() });
  const scrubPending = scrubs.filter((s) => !s.report.compacted).map((s) => ({ store: s.store, reason: s.report.pending ?? 'not compacted' }));
  const now = ctx.now();
  for (const { store, report } of scrubs) {
    await ctx.metadata.health.report(report.compacted
      ? { kind: SCRUB_PENDING, subject: `store:${store}`, firing: false, severity: 'warn', message: `the ${store} store's removed bytes are cleared` }
      : { kind: SCRUB_PENDING, subject: `store:${store}`, firing: true, severity: 'warn', message: `removed records' bytes can remain in the ${store} store: ${report.pending ?? 'not compacted'}`, details: { store, ...(report.pendingWhile === undefined ? {} : { pendingWhile: report.pendingWhile }) } }, now);
  }
  const { complete } = await ctx.metadata.erasure.expungeDeleted();
  return { scrubPending, metadataExpunged: complete };
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
