import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { otherNamespaceOf, ownProcessTag, processOfTag, processStillRuns } from './process-identity.js';

/** How long text that is no tag (an older writer's lock, created and not yet written) counts as a live holder's, and how long a takeover guard may be held. */
const UNWRITTEN_GRACE_MS = 10_000;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const ageMs = (path: string): number => {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

/** Whether a lock's holder (its text) still holds it: this process, a process that still runs (`processStillRuns`), or text that is no tag while the file is young. */
function holderLives(lock: string, holder: string): boolean {
  if (holder === ownProcessTag()) return true;
  const process = processOfTag(holder);
  return process !== undefined ? processStillRuns(process) : ageMs(lock) < UNWRITTEN_GRACE_MS;
}

/** Creates `path` holding `text`, whole or not at all (written under a unique name, then linked: `link` fails if the name exists). */
function create(path: string, text: string): boolean {
  const draft = `${path}.new-${ownProcessTag()}-${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, text);
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    rmSync(draft, { force: true });
  }
}

/** Removes a takeover guard older than the grace (its taker died holding it): moved aside, removed if it is still the one judged, else put back. */
function clearStuckGuard(guard: string): void {
  const stuck = readText(guard);
  if (stuck === undefined || ageMs(guard) < UNWRITTEN_GRACE_MS) return;
  const aside = `${guard}.stale-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(guard, aside);
    if (readText(aside) !== stuck) linkSync(aside, guard);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EEXIST') throw error;
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Removes a gone holder's lock (`text`, as judged), one taker at a time: under `<lock>.takeover`
 * (created whole, like the lock) the lock is removed only if it still holds the text judged, so a
 * taker that judged the same lock later cannot remove the lock the first taker made since (the
 * gone holder never writes again, and no other taker acts meanwhile). False while another
 * process holds the guard.
 */
function takeOver(lock: string, text: string): boolean {
  const guard = `${lock}.takeover`;
  if (!create(guard, `${ownProcessTag()} ${randomBytes(8).toString('hex')}\n`)) {
    clearStuckGuard(guard);
    return false;
  }
  try {
    if (readText(lock) === text) rmSync(lock, { force: true });
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * The one lock file rule (the online store's `open.lock`, the lineage spool's `deliver.lock`):
 * tries once to take `lock` for this process (`ownProcessTag` in it, never seen half written).
 * Free: taken. Held by a live holder (this process, a process that still runs by pid and start,
 * or text that is no tag in a file younger than 10 s): not taken, with the holder's text. Held by
 * a holder that is gone: taken over atomically (`takeOver`: two takers that judged the same lock
 * never both hold it); while another process is taking it over, not taken.
 *
 * @example
 * const lock = join(spoolDir, 'deliver.lock');
 * if (tryLockFile(lock).acquired) {
 *   try { deliver(); } finally { unlockFile(lock); }
 * }
 */
export function tryLockFile(lock: string): { readonly acquired: true } | { readonly acquired: false; readonly holder: string } {
  for (;;) {
    if (create(lock, `${ownProcessTag()}\n`)) return { acquired: true };
    const text = readText(lock);
    if (text === undefined) continue; // released between the two calls
    const holder = text.trim();
    if (holderLives(lock, holder) || !takeOver(lock, text)) return { acquired: false, holder };
  }
}

/** Releases a lock this process took with `tryLockFile` (a lock holding another holder's tag is left alone). */
export function unlockFile(lock: string): void {
  if (readText(lock)?.trim() === ownProcessTag()) rmSync(lock, { force: true });
}

/**
 * Who holds a lock, as a message can name it (the lock's text as `tryLockFile` returned it):
 * `process 4242`, and for a holder of another pid namespace of this boot (which this process
 * cannot look at, so it is held however old), that namespace and the fix: remove the lock file
 * if no such process runs there (`elsewhere`).
 *
 * @example
 * `the spool is delivered by ${lockHolder(lock, taken.holder).name}`
 */
export function lockHolder(lock: string, holder: string): { readonly name: string; readonly elsewhere: boolean } {
  const process = processOfTag(holder);
  if (process === undefined) return { name: `"${holder}"`, elsewhere: false };
  const namespace = otherNamespaceOf(process);
  return namespace === undefined
    ? { name: `process ${process.pid}`, elsewhere: false }
    : { name: `process ${process.pid} of another pid namespace (${namespace}), which this process cannot look at; if no such process runs there, remove ${lock}`, elsewhere: true };
}
