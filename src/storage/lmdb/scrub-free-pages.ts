import type { Database, Key } from 'lmdb';

interface TreeStats { readonly treeBranchPageCount: number; readonly treeLeafPageCount: number; readonly overflowPages: number }
interface LmdbStats extends TreeStats { readonly lastPageNumber: number; readonly pageSize: number; readonly free: TreeStats }

/** Keys of the filler records: a tag no store's keys use (they sort before every store's prefixes). */
const FILLER = '\u0000scrub';

/**
 * Overwrites the free pages of an LMDB environment with zeros, so bytes of removed records (an
 * erased subject's entries) do not linger in them: LMDB frees a page without clearing it. One
 * write transaction first moves every reader past the removals (pages a reader may still see are
 * not reused), then filler records (four to a page) take the free pages in one transaction and
 * are removed in the next. Safe with other processes using the environment; the file can grow
 * (on the demo's online store by about half: not every free page is taken). Pages an old read transaction of another process pins
 * are left as they are until it ends. Not cleared: the unused middle of a live page, where LMDB
 * can leave a stale copy of a removed entry (see docs/compliance-erasure.md, known limits).
 *
 * @example
 * await scrubFreePages(db);
 */
export async function scrubFreePages(db: Database<unknown, Key>): Promise<{ readonly pages: number }> {
  (db as { resetReadTxn?: () => void }).resetReadTxn?.();
  await db.put([FILLER, -1], 0);
  await db.remove([FILLER, -1]);
  const stats = db.getStats() as LmdbStats;
  // Exactly the free pages (all pages less the two meta pages, the tree's and the free list's): the file grows by little.
  const used = (t: TreeStats) => t.treeBranchPageCount + t.treeLeafPageCount + t.overflowPages;
  const free = Math.max(0, stats.lastPageNumber + 1 - 2 - used(stats) - used(stats.free));
  // Leaf-sized records, four to a page: LMDB takes leaf pages from the free list (it appended
  // single overflow pages at the end of the file instead, leaving the free ones as they were).
  const filler = Buffer.alloc(Math.floor(stats.pageSize / 4) - 48);
  const pages = free * 4;
  await db.transaction(() => {
    for (let i = 0; i < pages; i++) void db.put([FILLER, i], filler);
  });
  await db.transaction(() => {
    for (let i = 0; i < pages; i++) void db.remove([FILLER, i]);
  });
  await db.flushed;
  return { pages: free };
}
