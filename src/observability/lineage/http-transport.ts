import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockHolder, tryLockFile, unlockFile } from '../../orchestration/lock-file.js';
import type { LineageTransport } from './lineage-transport.js';

export interface HttpTransportOptions {
  readonly url: string;
  readonly endpoint: string;
  readonly apiKey?: string;
  /** The spool directory (in the project's `.sluice/`): every event is written here first and removed once the endpoint accepted it. */
  readonly spoolDir: string;
  /** First retry delay; doubles per failure up to `maxBackoffMs`. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long `close` keeps trying to deliver before leaving the rest in the spool. */
  readonly closeTimeoutMs?: number;
  readonly onError: (error: Error) => void;
}

const LOCK = 'deliver.lock';

/**
 * POSTs events to a Marquez-compatible endpoint (`{url}/{endpoint}`) through a local spool: `send`
 * writes the event to the spool atomically (temporary name, rename) and returns; a deliverer
 * sends the spooled events oldest first, one at a time, and removes each once the endpoint
 * answered 2xx, so nothing is lost while the endpoint is down and the order is kept. Failures
 * retry with exponential backoff; a 4xx other than 408/429 is the event's fault and moves it to
 * `rejected/`. One process delivers at a time (a lock file); events a process leaves are sent by
 * the next one.
 *
 * @example
 * const transport = httpTransport({ url: 'http://localhost:5000', endpoint: 'api/v1/lineage', spoolDir: '.sluice/lineage-spool', onError: console.warn });
 */
export function httpTransport(options: HttpTransportOptions): LineageTransport {
  const { spoolDir } = options;
  mkdirSync(spoolDir, { recursive: true });
  const target = `${options.url.replace(/\/+$/, '')}/${options.endpoint.replace(/^\/+/, '')}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) };
  const backoffMs = options.backoffMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  let seq = 0;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let closed = false;

  const spooled = () => readdirSync(spoolDir).filter((f) => f.endsWith('.json')).sort();
  // Held by this process (another pass) or a live one: not now. A gone holder's lock is taken over (`tryLockFile`).
  // A holder of another pid namespace cannot be looked at from here: held until removed, said once.
  let warnedHolder: string | undefined;
  const lock = (): boolean => {
    const taken = tryLockFile(join(spoolDir, LOCK));
    if (taken.acquired) return true;
    const held = lockHolder(join(spoolDir, LOCK), taken.holder);
    if (held.elsewhere && warnedHolder !== taken.holder) {
      warnedHolder = taken.holder;
      options.onError(new Error(`lineage events in ${spoolDir} are not delivered while ${LOCK} is held by ${held.name}`));
    }
    return false;
  };
  const unlock = () => unlockFile(join(spoolDir, LOCK));

  /** Sends one spooled event; removes it once accepted, sets it aside if the endpoint rejects it, throws to retry later. */
  const deliverOne = async (name: string) => {
    const path = join(spoolDir, name);
    const body = readFileSync(path, 'utf8');
    const response = await fetch(target, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) {
      rmSync(path, { force: true });
    } else if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
      mkdirSync(join(spoolDir, 'rejected'), { recursive: true });
      renameSync(path, join(spoolDir, 'rejected', name));
      options.onError(new Error(`OpenLineage endpoint ${target} rejected event ${name} (HTTP ${response.status}); it is kept in ${join(spoolDir, 'rejected')}`));
    } else {
      throw new Error(`OpenLineage endpoint ${target} answered HTTP ${response.status}`);
    }
  };
  /** One pass: delivers spooled events in order until the spool is empty (true) or one fails (throws); false when another process is delivering. */
  const deliver = async (): Promise<boolean> => {
    if (!lock()) return spooled().length === 0;
    try {
      // Events sent during a pass are delivered by the same pass: it lists the spool again.
      for (let names = spooled(); names.length > 0; names = spooled()) {
        for (const name of names) await deliverOne(name);
      }
      failures = 0;
      return true;
    } finally {
      unlock();
    }
  };
  const schedule = (delayMs: number) => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      kick();
    }, delayMs);
    timer.unref();
  };
  const kick = () => {
    if (running) return;
    running = deliver()
      .then((empty) => {
        if (!empty) schedule(backoffMs);
      })
      .catch((error: Error) => {
        if (failures === 0) options.onError(new Error(`OpenLineage endpoint ${target} is unreachable (${(error.cause as Error | undefined)?.message ?? error.message}); events are kept in ${spoolDir} and retried`));
        failures++;
        schedule(Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(failures - 1, 20)));
      })
      .finally(() => {
        running = undefined;
      });
  };

  if (spooled().length > 0) kick();
  return {
    send(event) {
      try {
        const name = `${String(Date.now()).padStart(15, '0')}-${String(process.pid).padStart(8, '0')}-${String(seq++).padStart(9, '0')}.json`;
        const temporary = join(spoolDir, `${name}.tmp`);
        writeFileSync(temporary, JSON.stringify(event));
        renameSync(temporary, join(spoolDir, name));
        if (!timer) kick();
      } catch (error) {
        options.onError(error as Error);
      }
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const deadline = Date.now() + (options.closeTimeoutMs ?? 2_000);
      for (;;) {
        if (running) await running;
        if (spooled().length === 0 || Date.now() >= deadline) return;
        const before = failures;
        kick();
        await running;
        // The endpoint is down: the spool keeps the rest for the next process; exit is not held up.
        if (failures > before) return;
        if (spooled().length > 0) await new Promise((r) => setTimeout(r, backoffMs));
      }
    },
  };
}
