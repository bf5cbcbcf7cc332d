import type { Database, Key } from 'lmdb';

/** Keys of the filler records: a tag no store's keys use (they sort before every store's prefixes). */
const FILLER = '\u0000scrub';

/**
 * Overwrites the free pages of an LMDB environment with zeros, so bytes of removed records (an
 * erased subject's entries) do not linger in them: LMDB frees a page without clearing it. One
 * write transaction first moves every reader past the removals (pages a reader may still see are
 * not reused), then filler records of a page each take every reusable free page in one
 * transaction and are removed in the next. Safe with other processes using the environment; the
 * file grows by the pages in use at most. Pages an old read transaction of another process pins
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
  const stats = db.getStats() as { lastPageNumber: number; pageSize: number };
  const pages = stats.lastPageNumber + 1;
  // A page less its 16-byte header: stored on an overflow page of its own, which it fills to the end.
  const filler = Buffer.alloc(stats.pageSize - 16);
  await db.transaction(() => {
    for (let i = 0; i < pages; i++) void db.put([FILLER, i], filler);
  });
  await db.transaction(() => {
    for (let i = 0; i < pages; i++) void db.remove([FILLER, i]);
  });
  await db.flushed;
  return { pages };
}
