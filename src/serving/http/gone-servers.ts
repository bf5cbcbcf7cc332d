import { SERVING_LOG_DROPS, servingLogSubject } from '../../observability/serving-log/serving-log-health.js';
import type { MetadataStore } from '../../storage/metadata/metadata-store.js';
import { AUDIT_FAILING, auditSubject } from './server-audit.js';
import { serverIsGone } from './server-name.js';

/**
 * The health conditions a server reports of its own, each of subject `<prefix><server>`: every
 * one of them ends when its server is gone. A new per-server condition is one more row here.
 */
const SERVER_CONDITIONS: readonly { kind: string; prefix: string; shared?: string; stays: string }[] = [
  // `serving_log` is the one subject all servers shared before conditions named their server.
  { kind: SERVING_LOG_DROPS, prefix: servingLogSubject(''), shared: 'serving_log', stays: 'its drops stay recorded for skew and drift' },
  { kind: AUDIT_FAILING, prefix: auditSubject(''), stays: 'audit records it had not committed when it stopped were not written (its log names the failure)' },
];

/** How often the conditions of other servers are checked for servers gone since the last check. */
const SWEEP_EVERY_MS = 60_000;

export interface GoneServerSweepOptions {
  /** How often to check again, once started. Default 60 s. */
  readonly everyMs?: number;
  /** Whether `server` no longer runs. Default: `serverIsGone` (no live process holds its name). */
  readonly isGone?: (server: string) => Promise<boolean>;
  /** A sweep that failed (it is tried again at the next one). */
  readonly onError?: (error: unknown) => void;
}

export interface GoneServerSweep {
  /** Resolves when the sweep under way, if any, is done. */
  settled(): Promise<void>;
  /** Stops the sweeps; resolves when the one under way, if any, is done. */
  close(): Promise<void>;
}

/** The message of a condition ended because its server no longer runs (or, `server` undefined, one from before conditions named their server). */
function goneMessage(server: string | undefined, stays: string): string {
  return server === undefined
    ? `a condition from before each server reported its own ends (${stays})`
    : `server "${server}" no longer runs (no live process holds its name): its condition ends (${stays})`;
}

/**
 * The one sweep of gone servers' conditions: run by a server (`server`, whose name it holds) at
 * once and then every minute while it runs, it ends (`details.ended: 'gone'`) every firing
 * condition of {@link SERVER_CONDITIONS} whose server is gone, so a server that died or never
 * comes back does not fire forever; its own and a live server's stay. One sweep at a time;
 * the timer is unref'd (it never keeps a process alive).
 *
 * @example
 * const sweep = sweepGoneServers(platform.metadata, platform.now, 'web-1');
 * await sweep.close();
 */
export function sweepGoneServers(metadata: MetadataStore, now: () => number, server: string, options: GoneServerSweepOptions = {}): GoneServerSweep {
  const isGone = options.isGone ?? ((other: string) => serverIsGone(metadata, other));
  const sweep = async () => {
    for (const { kind, prefix, shared, stays } of SERVER_CONDITIONS) {
      for (const c of await metadata.health.list({ kind, firing: true })) {
        const other = c.subject.startsWith(prefix) ? c.subject.slice(prefix.length) : undefined;
        if (other === undefined ? c.subject !== shared : other === server || !(await isGone(other))) continue;
        // Read again in the transaction that ends it: what the server reported last is kept in its details.
        await metadata.health.update(kind, c.subject, (current) => (current?.firing !== true ? undefined
          : { firing: false, severity: current.severity, message: goneMessage(other, stays), details: { ...current.details, ended: 'gone' } }), now());
      }
    }
  };
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const start = () => {
    if (busy) return;
    busy = true;
    running = sweep().catch((error: unknown) => options.onError?.(error)).finally(() => (busy = false));
  };
  start();
  const timer = setInterval(start, options.everyMs ?? SWEEP_EVERY_MS);
  timer.unref();
  return {
    settled: () => running,
    close: () => {
      clearInterval(timer);
      return running;
    },
  };
}
