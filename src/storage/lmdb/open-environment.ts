import { mkdirSync } from 'node:fs';
import { open, type Database, type Key, type RootDatabaseOptionsWithPath } from 'lmdb';
import { AdapterError } from '../../errors.js';

/**
 * Opens an LMDB environment (`open` of lmdb-js) for `what` (`online store`, `event log`): an
 * environment that cannot be opened (a read-only file system, no permission, no space, a path
 * that is not a directory) is an AdapterError naming the store, its path and the fix, not a bare
 * lmdb error (`Read-only file system: Attempting to setup locks`, which names no file).
 *
 * @example
 * const db = openEnvironment('online store', { path: '.sluice/online', compression: false });
 */
export function openEnvironment(what: string, options: RootDatabaseOptionsWithPath & { readonly path: string }): Database<unknown, Key> {
  return refusedAs(what, options.path, () => open(options));
}

/** Creates the directory of an environment (and its parents) if missing, failing as `openEnvironment` does. */
export function environmentDirectory(what: string, path: string): void {
  refusedAs(what, path, () => mkdirSync(path, { recursive: true }));
}

function refusedAs<T>(what: string, path: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new AdapterError('ADAPTER_FAILED', `${what} ${path} cannot be opened (${message}): make it and its directory writable (check their permissions, free disk space) and run it again`, { cause: error });
  }
}
