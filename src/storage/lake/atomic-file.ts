import { chmod, link, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConflictError } from '../../errors.js';
import { otherNamespaceOf, ownProcessTag, processOfTag, processStillRuns } from '../../orchestration/process-identity.js';
import { refusalAs } from '../file-system-refusal.js';
import { publishedMode } from '../private-data-dir.js';

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

/** Options of {@link publishFile}. */
export interface PublishOptions {
  /** False: an existing file at the path is never replaced; publishing fails with Node's EEXIST, atomically (a hard link, not a rename). Default true. */
  readonly replace?: boolean;
}

/** What {@link abandonedTemporaries} found in a directory. */
export interface TemporariesFound {
  /** Temporaries whose writer is gone (not this process, and `processStillRuns` says it does not run): removable. */
  readonly abandoned: string[];
  /** Temporaries whose writer is a process of another pid namespace, which cannot be looked at from here: kept, and reported so that they can be removed by hand once no such process runs there. */
  readonly heldElsewhere: string[];
}

/**
 * The one rule for a temporary's writer: the temporaries (`temporaryPath`) in `dir` of the files
 * `isTarget` accepts (given the target's file name) whose writer is gone (by pid and start), and
 * those whose writer is a process of another pid namespace (taken to run, reported). A process
 * killed between writing and renaming left the abandoned ones. Nothing reads them, and they may
 * hold what a later rewrite of their target removed (a rewrite's copy of a serving-log hour holds
 * every key of it). `sluice gc` and the purge of the serving log both decide through it.
 *
 * @example
 * for (const file of (await abandonedTemporaries(dir, (t) => t.endsWith('.jsonl'))).abandoned) await rm(file);
 */
export async function abandonedTemporaries(dir: string, isTarget: (target: string) => boolean): Promise<TemporariesFound> {
  const found: TemporariesFound = { abandoned: [], heldElsewhere: [] };
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const target = name.slice(0, Math.max(0, name.lastIndexOf('.tmp-')));
    const writer = target === '' || !isTarget(target) ? undefined : temporaryWriter(name, target);
    if (writer === undefined) continue;
    if (otherNamespaceOf(writer) !== undefined) found.heldElsewhere.push(join(dir, name));
    else if (writer.pid !== process.pid && !processStillRuns(writer)) found.abandoned.push(join(dir, name));
  }
  return found;
}

/**
 * Moves a finished temporary file into place atomically: fsync it, rename it over `path` (or,
 * with `replace: false`, link it there, which fails with EEXIST if `path` exists), fsync the
 * directory. Readers see the old file or the new one, never a partial one. Outside a data
 * directory the file gets the user's mode (`publishedMode`). A temporary removed
 * meanwhile fails with a `ConflictError` (CONFLICT) naming both files.
 */
export async function commitFile(temporary: string, path: string, options: PublishOptions = {}): Promise<void> {
  try {
    // A user's own file (a dataset's --out) keeps the user's umask, not the data directory's 0600.
    const mode = await publishedMode(path);
    if (mode !== undefined) await chmod(temporary, mode);
    await fsyncPath(temporary);
    if (options.replace === false) await link(temporary, path);
    else await rename(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new ConflictError('CONFLICT', `the temporary file ${temporary} was removed before it was published as ${path} (by another process, or its folder was removed); nothing was published: run the command again`, { cause: error });
  }
  await fsyncPath(dirname(path) || '.');
}

/**
 * Publishes `path` atomically: `write` writes it under a temporary name (`temporaryPath`), then
 * it is moved into place (`commitFile`; with `replace: false` an existing file is kept and the
 * publish fails with EEXIST); the temporary never outlives a failure, nor a link. A file system
 * that refuses the temporary (read-only, no permission, no space) fails naming `path`, the file
 * the caller asked for (`refusalAs`), not the temporary name.
 *
 * @example
 * await publishFile('out.parquet', (temporary) => engine.run(`COPY t TO '${temporary}' (FORMAT PARQUET)`));
 */
export async function publishFile(path: string, write: (temporary: string) => Promise<void>, options: PublishOptions = {}): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    await write(temporary);
    await commitFile(temporary, path, options);
  } catch (error) {
    throw refusalAs(error, temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Writes a file atomically (tmp + fsync + rename, see `publishFile`).
 *
 * @example
 * await writeFileAtomic('out.parquet.manifest.json', JSON.stringify(manifest));
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await publishFile(path, async (temporary) => {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
  });
}
