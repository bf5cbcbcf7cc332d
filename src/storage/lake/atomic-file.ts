import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { ConflictError } from '../../errors.js';
import { ownProcessTag, processOfTag } from '../../orchestration/process-identity.js';

/** Flushes a file (or directory) to disk. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The temporary name a process writes `path` under before renaming it: `<path>.tmp-<pid>.<start>` (`ownProcessTag`). */
export function temporaryPath(path: string): string {
  return `${path}.tmp-${ownProcessTag()}`;
}

/** The process that wrote a temporary name made by `temporaryPath` (or `<path>.tmp-<pid>`, older), if `name` is one for `target`. */
export function temporaryWriter(name: string, target: string): { readonly pid: number; readonly started?: string } | undefined {
  const prefix = `${basename(target)}.tmp-`;
  return name.startsWith(prefix) ? processOfTag(name.slice(prefix.length)) : undefined;
}

/**
 * Moves a finished temporary file into place atomically: fsync it, rename it over `path`,
 * fsync the directory. Readers see the old file or the new one, never a partial one. A temporary
 * removed meanwhile fails with a `ConflictError` (CONFLICT) naming both files.
 */
export async function commitFile(temporary: string, path: string): Promise<void> {
  try {
    await fsyncPath(temporary);
    await rename(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new ConflictError('CONFLICT', `the temporary file ${temporary} was removed before it was published as ${path} (by another process, or its folder was removed); nothing was published: run the command again`, { cause: error });
  }
  await fsyncPath(dirname(path) || '.');
}

/**
 * Writes a file atomically (tmp + fsync + rename); the temporary file never outlives a failure.
 *
 * @example
 * await writeFileAtomic('out.parquet.manifest.json', JSON.stringify(manifest));
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    await commitFile(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}
