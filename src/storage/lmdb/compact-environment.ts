import { existsSync, mkdirSync, openSync, fsyncSync, closeSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type Key } from 'lmdb';
import type { ScrubReport } from '../scrub-report.js';
import { scrubFreePages } from './scrub-free-pages.js';


/** Marks an environment whose removed bytes still wait for a compaction. */
const PENDING = 'compact-pending';

/** Process ids with a reader slot in the environment other than this one (stale slots of dead processes are cleared first). */
export function otherProcesses(db: Database<unknown, Key>): number[] {
  db.readerCheck();
  const pids = [...db.readerList().matchAll(/^\s*(\d+)\s/gm)].map((m) => Number(m[1]));
  return [...new Set(pids)].filter((pid) => pid !== process.pid);
}

/** Records copied per write transaction of a rebuild. */
const CHUNK = 10_000;

/**
 * Writes every record of `db`, bytes as they are, into a fresh environment at `dir`, in key
 * order: its pages hold only live records. Not `mdb_env_copy2` with `MDB_CP_COMPACT`: that copy
 * keeps branch pages as they are, and a branch page keeps a removed key that once began a leaf
 * page (as the separator) after the record itself is gone.
 */
async function rebuild(db: Database<unknown, Key>, dir: string): Promise<void> {
  const fresh = open({ path: dir, compression: false, encoding: 'binary' });
  try {
    let chunk: [Key, Buffer][] = [];
    const write = async () => {
      const records = chunk;
      chunk = [];
      await fresh.transaction(() => {
        for (const [key, value] of records) void fresh.put(key, value);
      });
    };
    for (const key of db.getKeys()) {
      const value = db.getBinary(key);
      if (value !== undefined) chunk.push([key, value]);
      if (chunk.length >= CHUNK) await write();
    }
    await write();
    await fresh.flushed;
  } finally {
    await fresh.close();
  }
}

/**
 * Clears removed records' bytes from an LMDB environment for good: the live records are written
 * into a new environment (`rebuild`), whose file is fsynced and renamed over `data.mdb`; the
 * caller then reopens it. LMDB leaves a removed
 * record's bytes in free pages and in the unused middle of live pages; the copy has neither.
 * Safe only when no other process has the environment open (every process that read it holds a
 * reader slot naming its pid): then the free pages are overwritten (`scrubFreePages`, the best a
 * shared file allows), a `compact-pending` marker is left, and the report says why it is
 * pending; `compactIfPending`, run when a store closes, finishes it once the process has the
 * environment alone.
 *
 * @example
 * const report = await compactEnvironment(path, db, () => db.close());
 * if (report.compacted) db = openStore();
 */
export async function compactEnvironment(path: string, db: Database<unknown, Key>, close: () => Promise<void>): Promise<ScrubReport> {
  const others = otherProcesses(db);
  if (others.length > 0) {
    await scrubFreePages(db);
    writeFileSync(join(path, PENDING), `${new Date().toISOString()}\n`);
    return { compacted: false, pending: `open in process ${others.join(', ')}: removed bytes can remain in ${join(path, 'data.mdb')} until a process that has the store alone closes it (stopping the server does)`, pendingWhile: join(path, PENDING) };
  }
  const copy = join(path, `compact-${process.pid}`);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy);
  await db.flushed;
  await rebuild(db, copy);
  const fd = openSync(join(copy, 'data.mdb'), 'r');
  fsyncSync(fd);
  closeSync(fd);
  await close();
  renameSync(join(copy, 'data.mdb'), join(path, 'data.mdb'));
  rmSync(copy, { recursive: true, force: true });
  rmSync(join(path, PENDING), { force: true });
  const dir = openSync(path, 'r');
  fsyncSync(dir);
  closeSync(dir);
  return { compacted: true };
}

/** Whether an erasure left this environment's compaction pending (see `compactEnvironment`). */
export function compactionPending(path: string): boolean {
  return existsSync(join(path, PENDING));
}

/**
 * Closes an environment, first finishing a pending compaction when no other process has it open.
 *
 * @example
 * await closeCompacting(path, db);
 */
export async function closeCompacting(path: string, db: Database<unknown, Key>): Promise<void> {
  if (compactionPending(path) && otherProcesses(db).length === 0) {
    const report = await compactEnvironment(path, db, () => db.close());
    if (report.compacted) return;
  }
  await db.close();
}

/**
 * Holds a store's operations while its environment is swapped: `pass` waits for a swap under
 * way, `swap` runs one (operations that call `pass` after it starts wait for it to end), so no
 * write lands in the file being replaced.
 *
 * @example
 * const gate = swapGate();
 * await gate.pass(); // first line of every async operation
 * const report = await gate.swap(() => compactEnvironment(path, db, () => db.close()));
 */
export function swapGate() {
  let current: Promise<unknown> | undefined;
  return {
    /** Whether a swap runs now (`pass` would wait); the hot path skips awaiting `pass` when none does. */
    busy(): boolean {
      return current !== undefined;
    },
    async pass(): Promise<void> {
      while (current !== undefined) await current.catch(() => undefined);
    },
    async swap<T>(run: () => Promise<T>): Promise<T> {
      await this.pass();
      const running = run();
      current = running;
      try {
        return await running;
      } finally {
        current = undefined;
      }
    },
  };
}
