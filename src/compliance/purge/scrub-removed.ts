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
 * and SQLite's write-ahead log is reset (its pages are zeroed by `secure_delete`).
 *
 * @example
 * const { scrubPending } = await scrubRemovedBytes(ctx, project);
 */
export async function scrubRemovedBytes(ctx: SluiceContext, project: Project): Promise<RemovedBytesScrub> {
  const scrubs = [{ store: 'online', report: await (await ctx.online()).scrubFreed() }];
  if (project.sources.some(isStreamed)) scrubs.push({ store: 'log', report: await (await ctx.log()).scrubFreed() });
  const scrubPending = scrubs.filter((s) => !s.report.compacted).map((s) => ({ store: s.store, reason: s.report.pending ?? 'not compacted' }));
  const { complete } = await ctx.metadata.erasure.expungeDeleted();
  return { scrubPending, metadataExpunged: complete };
}
