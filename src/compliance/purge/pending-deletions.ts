import type { SluiceContext } from '../../context.js';
import type { PendingDeletion } from '../../storage/metadata/purge-store.js';

/**
 * Finishes the deletions a crashed purge left: every lake file a swap took out of every snapshot
 * (`PurgeStore.pendingDeletions`, of `filter`'s sources and/or owner) is deleted (a file already
 * gone is fine; one some snapshot lists again is kept) and its entry cleared. Returns the entries
 * it finished, so the caller's report (erasure certificate, retention report, `sluice gc`) can
 * say how many files a crashed run had left; with `dryRun` it only lists them. A purge calls it
 * before its own lake step, so a re-run after a crash between swap and delete removes the old
 * files, which still hold the removed rows, without waiting for `sluice gc`.
 *
 * @example
 * const leftovers = await finishPendingDeletions(ctx, { sources: ['txns'] });
 */
export async function finishPendingDeletions(ctx: SluiceContext, filter: { readonly sources?: readonly string[]; readonly owner?: string } = {}, dryRun = false): Promise<PendingDeletion[]> {
  const pending = await ctx.metadata.purge.pendingDeletions(filter);
  if (pending.length === 0 || dryRun) return pending;
  const referenced = await ctx.metadata.referencedFiles();
  for (const entry of pending) if (!referenced.has(entry.file)) await ctx.lake.remove(entry.file);
  await ctx.metadata.purge.clearPendingDeletions(pending.map((p) => p.file));
  return pending;
}
