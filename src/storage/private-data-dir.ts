import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { relative, resolve, isAbsolute } from 'node:path';

/** Permission bits of a data directory: its owner's only. */
export const PRIVATE_DIR_MODE = 0o700;

/** What the process's umask keeps from group and others while a data directory is open: nothing. */
const PRIVATE_UMASK = 0o077;

const privateDirs = new Set<string>();
/** The umask the process had before the first data directory was opened (undefined: none opened, or it could not be set). */
let userUmask: number | undefined;

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Makes a data directory private to its owner, where Sluice keeps what masking and access control
 * guard (the lake's Parquet files, `metadata.db` with raw dead-letter rows, the serving log): the
 * directory is created `0700`, or set to `0700` when it exists open to group or others (a warning
 * says so; one owned by another user is left as it is, and the warning gives the command that
 * fixes it), so no other OS account can reach a file in it. From then on the process creates
 * files with the umask `077` (`0600`, directories `0700`), for the engines too (DuckDB, SQLite,
 * LMDB). Files published outside a data directory (a dataset's `--out`, an export) keep the
 * user's own umask (`publishedMode`).
 *
 * @example
 * privateDataDir('/srv/project/.sluice', (text) => process.stderr.write(`warning: ${text}\n`));
 */
export function privateDataDir(dataDir: string, warn: (text: string) => void): void {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const stats = statSync(dir);
  if ((stats.mode & 0o077) !== 0) {
    const owned = typeof process.getuid !== 'function' || process.getuid() === stats.uid;
    if (owned) {
      chmodSync(dir, PRIVATE_DIR_MODE);
      warn(`the data directory ${dir} was readable by other OS users (mode ${octal(stats.mode)}): made it private (0700), so that no other account can read its lake, metadata.db or serving log; files in it written before keep their modes (run "chmod -R go-rwx ${dir}" to tighten them too)`);
    } else {
      warn(`the data directory ${dir} is readable by other OS users (mode ${octal(stats.mode)}) and belongs to another user, so Sluice cannot make it private: its owner should run "chmod -R go-rwx ${dir}"`);
    }
  }
  privateDirs.add(dir);
  if (userUmask === undefined) {
    try {
      const previous = process.umask(PRIVATE_UMASK);
      userUmask = previous;
      process.umask(previous | PRIVATE_UMASK);
    } catch {
      // A worker thread cannot set the umask; the directory's mode alone keeps others out.
    }
  }
}

const inside = (dir: string, path: string) => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/**
 * The mode a file being published at `path` should get, or undefined to keep what it was created
 * with: outside every data directory, a file replaced keeps its mode and a new file gets the mode
 * the user's umask gives (`0666 & ~umask`), not the data directory's `0600`. Undefined in a data
 * directory (`0600` from the umask) and while no data directory is open (the umask is the user's).
 *
 * @example
 * const mode = await publishedMode('train.parquet'); if (mode !== undefined) await chmod(temporary, mode);
 */
export async function publishedMode(path: string): Promise<number | undefined> {
  if (userUmask === undefined) return undefined;
  const target = resolve(path);
  if ([...privateDirs].some((dir) => inside(dir, target))) return undefined;
  try {
    return (await stat(target)).mode & 0o7777;
  } catch {
    return 0o666 & ~userUmask;
  }
}
