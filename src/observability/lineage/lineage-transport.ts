import type { RunEvent } from './run-event.js';

/**
 * Where events go. `send` only enqueues: it never throws and never waits on the network or the
 * disk beyond a small local write, so a job is not slowed or failed by lineage. Events of one
 * process are delivered in `send` order. `close` delivers what it can (an HTTP transport keeps
 * the rest in its spool for the next process).
 */
export interface LineageTransport {
  send(event: RunEvent): void;
  close(): Promise<void>;
}
