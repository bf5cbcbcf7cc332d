import type { AuditEvent, AuditTrail } from '../../storage/metadata/audit-store.js';

/** How often a server's buffered audit records are committed. */
export const AUDIT_FLUSH_MS = 50;

export interface AuditBuffer {
  /** Queues a record; it is committed with the others of its tick. */
  record(event: AuditEvent, at: number): void;
  /** Commits what is queued now. */
  flush(): Promise<void>;
  /**
   * Commits what is queued and stops the timer, re-trying a failing commit for up to `closeWaitMs`;
   * what is still not written then is counted in `dropped` and told to `onLost`, never dropped silently.
   */
  close(): Promise<void>;
  /** True from a failed commit until the next commit succeeds: records are queued, not in the trail. */
  failing(): boolean;
  /** Records dropped, oldest first, past `maxQueued` uncommitted ones (never a `classified.read`), and those `close` could not write. */
  dropped(): number;
}

export interface AuditBufferOptions {
  readonly flushMs?: number;
  readonly maxQueued?: number;
  readonly onError?: (error: unknown) => void;
  /** Called when commits start failing (with the error) and when they succeed again. */
  readonly onFailing?: (failing: boolean, error?: unknown) => void;
  /** How long `close` re-tries a failing commit before giving up on what is queued (default 2 s; each try may itself wait for a lock). */
  readonly closeWaitMs?: number;
  /** Told how many records `close` could not write, and the last error: they are not in the trail. */
  readonly onLost?: (records: number, error: unknown) => void;
}

/** Records never dropped from a full queue: a classified value was returned on each (it is served only while the trail is writable, so they are few). */
const KEPT_ACTIONS: ReadonlySet<string> = new Set(['classified.read']);

/** The queue within `max` records: every kept action's record, then the newest others; order unchanged. */
function keepWithin<T extends { event: AuditEvent }>(queue: readonly T[], max: number): T[] {
  let room = Math.max(0, max - queue.filter((q) => KEPT_ACTIONS.has(q.event.action)).length);
  const keep = new Array<boolean>(queue.length).fill(false);
  for (let i = queue.length - 1; i >= 0; i--) {
    if (KEPT_ACTIONS.has(queue[i]!.event.action)) keep[i] = true;
    else if (room > 0) {
      keep[i] = true;
      room--;
    }
  }
  return queue.filter((_, i) => keep[i]);
}

/**
 * Group commit for the audit trail on a server's hot path: records are queued and appended in one
 * transaction per tick (`flushMs`, default 50 ms) and on close, so a request never waits for a
 * commit. What a crash can lose: the records of the last tick (at most `flushMs` of requests),
 * never a record of an earlier tick and never a link of the chain. A failed commit is retried at
 * the next tick; past `maxQueued` records the oldest are dropped and counted in `dropped`, but
 * never a `classified.read` (a classified value was returned on it; while failing, the server
 * refuses classified reads, so no new ones queue up). `close` re-tries for a bounded time; what
 * it cannot write is counted too and told to `onLost`.
 * `failing()` is true from a failed commit to the next good one (`onFailing` tells both), so a
 * server can refuse the reads whose evidence would not be written.
 *
 * @example
 * const audit = auditBuffer(ctx.metadata.audit, { onError: (e) => log.error(e) });
 * audit.record({ actor: 'key:scorer', action: 'serve.read', target: 'service:fraud_v1', outcome: 'allowed' }, ctx.now());
 */
export function auditBuffer(audit: AuditTrail, options: AuditBufferOptions = {}): AuditBuffer {
  const flushMs = options.flushMs ?? AUDIT_FLUSH_MS;
  const maxQueued = options.maxQueued ?? 100_000;
  let queue: { event: AuditEvent; at: number }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let dropped = 0;
  let closed = false;
  let failing = false;
  let lastError: unknown;
  const flush = (): Promise<void> => {
    timer = undefined;
    flushing = flushing.then(async () => {
      if (queue.length === 0) return;
      const batch = queue;
      queue = [];
      try {
        await audit.appendMany(batch);
        if (failing) {
          failing = false;
          options.onFailing?.(false);
        }
      } catch (error) {
        lastError = error;
        queue = [...batch, ...queue];
        if (queue.length > maxQueued) {
          const kept = keepWithin(queue, maxQueued);
          dropped += queue.length - kept.length;
          queue = kept;
        }
        options.onError?.(error);
        if (!failing) {
          failing = true;
          options.onFailing?.(true, error);
        }
        if (!closed) timer ??= setTimeout(() => void flush(), flushMs);
      }
    });
    return flushing;
  };
  return {
    record(event, at) {
      queue.push({ event, at });
      timer ??= setTimeout(() => void flush(), flushMs);
    },
    flush,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const deadline = Date.now() + (options.closeWaitMs ?? 2_000);
      await flush();
      while (queue.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, flushMs));
        await flush();
      }
      if (queue.length === 0) return;
      const lost = queue.length;
      queue = [];
      dropped += lost;
      options.onLost?.(lost, lastError);
    },
    failing: () => failing,
    dropped: () => dropped,
  };
}
