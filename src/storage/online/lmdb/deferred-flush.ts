import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TimeoutError } from '../../../errors.js';
import { lockHolder, tryLockFile, unlockFile } from '../../../orchestration/lock-file.js';
import { ownProcessTag, processOfTag, processStillRuns } from '../../../orchestration/process-identity.js';

/** Whether the process a tag names (`ownProcessTag`: pid and start, or a bare pid in older files) still runs; text that is no tag (half written) counts as live. */
const alive = (tag: string): boolean => {
  const holder = processOfTag(tag);
  return holder === undefined || processStillRuns(holder);
};

/**
 * Per store handle (`unflushed-<pid>.<start>-<random>`, `ownProcessTag`): written before its first commit that is not
 * flushed, removed once a flush covers its commits. One per handle, since handles in other
 * processes flush on their own schedules.
 */
const MARKER = 'unflushed';

/** fsync (a directory's entries) or fdatasync (a file's data) of `path`. */
function sync(path: string, how: 'entries' | 'data'): void {
  const fd = openSync(path, 'r');
  try {
    if (how === 'data') fdatasyncSync(fd);
    else fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
const syncDirectory = (dir: string) => sync(dir, 'entries');
const datasync = (file: string) => sync(file, 'data');

const markers = (path: string): string[] => (existsSync(path) ? readdirSync(path).filter((f) => f.startsWith(`${MARKER}-`)) : []);
const holderOf = (marker: string): string => marker.split('-')[1] ?? '';

/**
 * Whether the store at `path` may be damaged: a process wrote commits without flushing them,
 * and the machine restarted since (power loss, OS crash) before a flush covered them. Without a
 * restart the commits are in the OS's page cache and the file is whole (a killed process loses
 * nothing the OS holds): then the markers of processes gone are cleared after flushing the file
 * for them, so they cannot be mistaken for damage after a later restart.
 */
export function unflushedBeforeRestart(path: string, boot: string): boolean {
  const found = markers(path);
  if (found.some((m) => readFileSync(join(path, m), 'utf8').trim() !== boot)) return true;
  const gone = found.filter((m) => !alive(holderOf(m)));
  if (gone.length > 0) {
    if (existsSync(join(path, 'data.mdb'))) datasync(join(path, 'data.mdb'));
    for (const m of gone) rmSync(join(path, m), { force: true });
    syncDirectory(path);
  }
  return false;
}
const OPEN_LOCK = 'open.lock';
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Runs `body` (the restart check, a removal of a damaged store and the first open) while holding
 * the store directory's `open.lock`, so two processes starting at once after a restart cannot both
 * decide to remove the store, one of them after the other has opened the fresh one. A lock whose
 * holder is gone is taken over (atomically, `tryLockFile`); a live holder is waited for, up to `timeoutMs`.
 */
export function withOpenLock<T>(path: string, body: () => T, timeoutMs = 60_000): T {
  const lock = join(path, OPEN_LOCK);
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const taken = tryLockFile(lock);
    if (taken.acquired) {
      try {
        return body();
      } finally {
        unlockFile(lock);
      }
    }
    if (Date.now() >= giveUpAt) {
      const { holder } = taken;
      throw new TimeoutError('TIMED_OUT', `the online store at ${path} is being opened by ${lockHolder(lock, holder).name} (lock file ${lock}) for more than ${timeoutMs} ms; if that process is stuck, stop it and start again`, { details: { path, holder } });
    }
    pause(20);
  }
}

/** Removes an LMDB environment's files (its data and lock file), for a store that must be rebuilt. */
export function removeEnvironment(path: string): void {
  for (const file of ['data.mdb', 'lock.mdb', ...markers(path)]) rmSync(join(path, file), { force: true });
  syncDirectory(path);
}

/** Flushes of an LMDB environment opened with `noSync`, on a schedule instead of per commit. */
export interface DeferredFlush {
  /** Runs a write (its commits): the store is marked unflushed (durably) first if it is not already. */
  write<T>(work: () => Promise<T>): Promise<T>;
  /** Flushes every commit made so far; the marker goes once no write ran during the flush. */
  flush(): Promise<void>;
  /** Stops the schedule after a last flush. */
  close(): Promise<void>;
}

/**
 * Flushes the environment at `path` every `everyMs` when it has new commits. The marker file
 * names this boot; it is written and fsynced (with its directory) before the first write after a
 * flush, and removed after a flush that began when no write was running and that no write
 * raced. So after a restart a marker that names an earlier boot means commits that may be lost
 * or half written: see `unflushedBeforeRestart`.
 */
export function deferredFlush(path: string, boot: string, everyMs: number, warn: (message: string) => void): DeferredFlush {
  const marker = join(path, `${MARKER}-${ownProcessTag()}-${randomBytes(4).toString('hex')}`);
  let marked = false;
  let running = 0;
  let done = 0;
  let flushed = 0;
  let flushing: Promise<void> | undefined;
  const flushNow = async (): Promise<void> => {
    const upTo = done;
    const quiet = running === 0;
    if (upTo === flushed && quiet && !marked) return;
    const handle = await openFile(join(path, 'data.mdb'), 'r');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
    flushed = upTo;
    if (quiet && running === 0 && done === upTo && marked) {
      unlinkSync(marker);
      syncDirectory(path);
      marked = false;
    }
  };
  const flush = (): Promise<void> => (flushing ??= flushNow().finally(() => (flushing = undefined)));
  const timer = setInterval(() => {
    flush().catch((error: unknown) => warn(`flushing the online store at ${path} failed (retrying): ${(error as Error).message}`));
  }, everyMs);
  timer.unref();
  const mark = () => {
    if (marked) return;
    writeFileSync(marker, `${boot}\n`);
    datasync(marker);
    syncDirectory(path);
    marked = true;
  };
  return {
    async write(work) {
      mark();
      running++;
      try {
        return await work();
      } finally {
        running--;
        done++;
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flushing;
      await flushNow();
    },
  };
}
