import { readFileSync } from 'node:fs';

/**
 * The one rule for "the process that recorded itself as pid P still runs on this host".
 *
 * A pid alone is not an identity: after a SIGKILL the kernel may give the dead holder's pid to
 * another process (in a container, pids are small and reused at once), and a check by pid would
 * take that stranger for the holder until its lease expires. So a holder also records its start
 * (`processStart`: the boot id and the start time in clock ticks since boot, field 22 of
 * `/proc/<pid>/stat`), and it still runs only if a process with that pid exists **and** started
 * then. Where `/proc` cannot be read (not Linux), and for records written before the start was
 * recorded, the rule falls back to the pid alone.
 */

/** True while a process with this pid exists on this host (EPERM: it exists, owned by another user). */
export function processAlive(pid: number): boolean {
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
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * When the process `pid` started, as `<boot id>:<clock ticks since boot>`, or undefined when
 * it cannot be told (no such process, or no `/proc`). Two processes that ever had one pid on one
 * machine have different starts.
 *
 * @example
 * processStart(process.pid); // 'd379a088-48ea-4d49-93a3-0496ddfa5293:7613412'
 */
export function processStart(pid: number): string | undefined {
  bootId ??= readBootId();
  if (bootId === null) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (the command name, in parentheses) may hold spaces and ')': fields 3.. follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields[22 - 3];
  return ticks !== undefined && /^\d+$/.test(ticks) ? `${bootId}:${ticks}` : undefined;
}

let ownStart: string | null | undefined;

/** This process's start (see `processStart`), read once; undefined where it cannot be told. */
export function ownProcessStart(): string | undefined {
  ownStart ??= processStart(process.pid) ?? null;
  return ownStart ?? undefined;
}

/**
 * Whether the process recorded as `pid` (with its `started`, when recorded) still runs on this
 * host: a process with that pid exists and, when both starts can be told, started then.
 *
 * @example
 * processStillRuns({ pid: 4242, started: 'd379a088-…:7613412' }); // false once 4242 is another process
 */
export function processStillRuns(holder: { readonly pid: number; readonly started?: string | undefined }): boolean {
  if (!processAlive(holder.pid)) return false;
  if (holder.started === undefined) return true;
  const now = processStart(holder.pid);
  return now === undefined || now === holder.started;
}
