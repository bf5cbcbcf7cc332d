import { readFileSync, readlinkSync } from 'node:fs';

/**
 * The one rule for "the process that recorded itself as pid P still runs on this host".
 *
 * A pid alone is not an identity: after a SIGKILL the kernel may give the dead holder's pid to
 * another process (in a container, pids are small and reused at once), and a check by pid would
 * take that stranger for the holder until its lease expires. So a holder also records its start
 * (`processStart`: the boot id and the start time in clock ticks since boot, field 22 of
 * `/proc/<pid>/stat`), and it still runs only if a process with that pid exists **and** started
 * then. A killed process its parent has not reaped yet (a zombie) answers `kill(pid, 0)` but runs
 * no more: it is dead too. Where `/proc` cannot be read (not Linux), and for records written
 * before the start was recorded, the rule falls back to the pid alone. Files that name their
 * holder (lock files, markers, temporary names) record `ownProcessTag()`, the whole start, and
 * read it back with `processOfTag`, so the same rule decides for them as for leases.
 *
 * A start also names the pid namespace it was read in: two containers that share a hostname (host
 * networking) and one metadata database each have their own pid 1, and a pid read in one namespace
 * says nothing about a process of another. A holder recorded in another boot is gone, whatever its
 * namespace (a reboot ends every process; the boot is checked first). A holder recorded in another
 * namespace of this boot is taken to run (only its lease's expiry ends it; for files, see
 * `lock-file.ts`), and a process whose `/proc` is not its own namespace's (its
 * `/proc/self/stat` names another pid) records no start.
 */

/** True while a process with this pid exists on this host (EPERM: it exists, owned by another user), zombie or not. */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let bootId: string | null | undefined;

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * This boot of the machine (Linux's `/proc/sys/kernel/random/boot_id`), read once; undefined where
 * the system does not say. What a process's start is read against, and what tells a restart.
 *
 * @example
 * machineBootId(); // 'd379a088-48ea-4d49-93a3-0496ddfa5293'
 */
export function machineBootId(): string | undefined {
  bootId ??= readBootId();
  return bootId ?? undefined;
}

let ownNamespace: string | null | undefined;

/** This process's pid namespace (the inode of `/proc/self/ns/pid`), or null where `/proc` is not this namespace's or cannot be read. */
function readOwnNamespace(): string | null {
  try {
    const self = readFileSync('/proc/self/stat', 'utf8');
    if (Number(self.slice(0, self.indexOf(' '))) !== process.pid) return null;
    return /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The start text of a process of this boot and pid namespace that started `ticks` clock ticks after boot, or undefined where it cannot be told. */
function startAt(ticks: string | undefined): string | undefined {
  const boot = machineBootId();
  ownNamespace ??= readOwnNamespace();
  return boot !== undefined && ownNamespace !== null && ticks !== undefined && /^\d+$/.test(ticks) ? `${boot}:${ticks}:${ownNamespace}` : undefined;
}

/** Whether a recorded start was read in this boot of the machine (true where this boot cannot be told): a start of another boot names a process a reboot ended. */
function sameBoot(started: string): boolean {
  const boot = machineBootId();
  return boot === undefined || splitStart(started)[0] === boot;
}

/** Whether a recorded start was read in this process's pid namespace (its pid names the same process here). */
function sameNamespace(started: string): boolean {
  ownNamespace ??= readOwnNamespace();
  return ownNamespace !== null && started.slice(started.lastIndexOf(':') + 1) === ownNamespace;
}

/** Fields 3.. of `/proc/<pid>/stat` (field 3 is the state letter), or undefined when it cannot be read. */
function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (the command name, in parentheses) may hold spaces and ')': fields 3.. follow the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const startOf = (fields: readonly string[]): string | undefined => startAt(fields[22 - 3]);

/**
 * When the process `pid` of this pid namespace started, as `<boot id>:<clock ticks since boot>:<pid
 * namespace>`, or undefined when it cannot be told (no such process, no `/proc`, or a `/proc` of
 * another namespace). Two processes that ever had one pid on one machine have different starts.
 *
 * @example
 * processStart(process.pid); // 'd379a088-48ea-4d49-93a3-0496ddfa5293:7613412:4026531836'
 */
export function processStart(pid: number): string | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : startOf(fields);
}

let ownStart: string | null | undefined;

/** This process's start (see `processStart`), read once; undefined where it cannot be told. */
export function ownProcessStart(): string | undefined {
  ownStart ??= processStart(process.pid) ?? null;
  return ownStart ?? undefined;
}

/**
 * Whether the process recorded as `pid` (with its `started`, when recorded) still runs on this
 * host: a process with that pid exists, is not a zombie (`Z`: killed, not yet reaped by its
 * parent, which may take until the parent ends) nor dead (`X`), and, when both starts can be
 * told, started then. A start of another boot is dead; one of another pid namespace of this boot
 * is taken to run (its pid cannot be looked at from here).
 *
 * @example
 * processStillRuns({ pid: 4242, started: 'd379a088-…:7613412:4026531836' }); // false once 4242 is another process
 */
export function processStillRuns(holder: { readonly pid: number; readonly started?: string | undefined }): boolean {
  if (holder.started !== undefined && !sameBoot(holder.started)) return false;
  if (holder.started !== undefined && !sameNamespace(holder.started)) return true;
  if (!Number.isInteger(holder.pid) || holder.pid <= 0 || !pidExists(holder.pid)) return false;
  const fields = statFields(holder.pid);
  if (fields === undefined) return true;
  if (fields[0] === 'Z' || fields[0] === 'X') return false;
  if (holder.started === undefined) return true;
  const now = startOf(fields);
  return now === undefined || now === holder.started;
}

/**
 * Whether a holder was recorded in another boot of a machine (false where it cannot be told). On a
 * host of its name that means it ran before a reboot, or on another machine of the same host
 * name (cloned VMs, one compose `hostname:` on two hosts): its pid says nothing here.
 *
 * @example
 * ofAnotherBoot(lease.holder); // true for a holder whose start names another boot id
 */
export function ofAnotherBoot(holder: { readonly started?: string | undefined }): boolean {
  return holder.started !== undefined && !sameBoot(holder.started);
}

/**
 * The pid namespace a holder was recorded in when it is another namespace of this boot, else
 * undefined. Such a holder's pid cannot be looked at from here, so `processStillRuns` takes it to
 * run: what names it (a lock file, a temporary) must say so, and how to free it, rather than wait.
 *
 * @example
 * otherNamespaceOf(processOfTag(readFileSync(lock, 'utf8'))!); // '4026532999'
 */
export function otherNamespaceOf(holder: { readonly started?: string | undefined }): string | undefined {
  if (holder.started === undefined || !sameBoot(holder.started) || sameNamespace(holder.started)) return undefined;
  return splitStart(holder.started)[2];
}

/**
 * This process as a tag for file names and lock files, `<pid>.<clock ticks since boot>.<pid
 * namespace>.<boot id without dashes>` (`<pid>` where the start cannot be told): the whole start,
 * so `processOfTag` reads back what a lease records and `processStillRuns` decides for files as for
 * leases (a holder of another pid namespace is held). No `-`, `/` or `:`: it fits in file names.
 *
 * @example
 * writeFileSync(lock, ownProcessTag()); // '4242.7613412.4026531836.d379a08848ea4d4993a30496ddfa5293'
 */
export function ownProcessTag(): string {
  const started = ownProcessStart();
  if (started === undefined) return String(process.pid);
  const [boot, ticks, namespace] = splitStart(started);
  return `${process.pid}.${ticks}.${namespace}.${boot.replaceAll('-', '')}`;
}

/** A start's boot id, ticks and namespace (the boot id is the text before the last two `:`). */
function splitStart(started: string): [boot: string, ticks: string, namespace: string] {
  const last = started.lastIndexOf(':');
  const middle = started.lastIndexOf(':', last - 1);
  return [started.slice(0, middle), started.slice(middle + 1, last), started.slice(last + 1)];
}

/** A boot id as a tag holds it (dashes removed) back in the form `/proc` gives it. */
function bootOfTag(compact: string): string {
  bootId ??= readBootId();
  if (bootId !== null && bootId.replaceAll('-', '') === compact) return bootId;
  const uuid = /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/.exec(compact);
  return uuid === null ? compact : uuid.slice(1).join('-');
}

/**
 * The process a tag made by `ownProcessTag` names, with the start it recorded (boot and pid
 * namespace included, so a holder of another namespace is held, as for a lease), or undefined for
 * text that is not a tag. Older tags still parse: `<pid>.<ticks>` is taken as of this boot and
 * namespace, a bare pid as the pid alone.
 *
 * @example
 * processStillRuns(processOfTag(readFileSync(lock, 'utf8')) ?? { pid: 0 });
 */
export function processOfTag(tag: string): { readonly pid: number; readonly started?: string } | undefined {
  const match = /^(\d+)(?:\.(\d+)(?:\.(\d+)\.([0-9a-f]+))?)?$/.exec(tag.trim());
  if (match === null) return undefined;
  const pid = Number(match[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const [, , ticks, namespace, boot] = match;
  const started = namespace !== undefined && boot !== undefined ? `${bootOfTag(boot)}:${ticks}:${namespace}` : startAt(ticks);
  return started === undefined ? { pid } : { pid, started };
}
