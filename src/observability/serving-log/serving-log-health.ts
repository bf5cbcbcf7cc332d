import type { HealthStore } from '../../storage/metadata/health-store.js';
import { toIso } from '../../time/index.js';
import type { ServingLogDropState } from './drop-tally.js';
import { dropCauses } from './serving-log-drops.js';

/** The kind of the health condition of a server's serving log dropping rows. */
export const SERVING_LOG_DROPS = 'serving_log_drops';

/** The subject of `server`'s condition: each server reports its own (see `servingLogHealth`). */
export function servingLogSubject(server: string): string {
  return `serving_log:${server}`;
}

export interface ServingLogHealthOptions {
  /** The name of this server (see `server-name.ts`): its condition's subject is `serving_log:<server>`. */
  readonly server: string;
  /** A report that could not be stored. */
  readonly onError?: (error: unknown) => void;
}

/** How often a firing condition's counts are updated in the metadata store, at most (the first report is at once). */
const UPDATE_EVERY_MS = 10_000;

export interface ServingLogHealth {
  /** The writer's `onDrops`: never throws, never waits. */
  readonly onDrops: (state: ServingLogDropState) => void;
  /** Resolves when the reports made so far are stored. */
  settled(): Promise<void>;
  /** Resolves when the reports made so far are stored (no report is made after it). */
  close(): Promise<void>;
}

/** One line a person can act on, for a drop episode. */
export function dropMessage(state: ServingLogDropState): string {
  const since = state.since === null ? '' : ` since ${toIso(state.since)}`;
  if (!state.dropping) {
    if (state.ended === 'started') return 'this server started again: a condition left by its earlier process ends (its drops stay recorded for skew and drift)';
    if (state.rows === 0) return 'the serving log writes every sampled row';
    const ended = state.ended === 'stopped' ? 'the serving log stopped with nothing dropped at its last write' : 'the serving log writes again';
    return `${ended}; ${state.rows} sampled rows were dropped${since} (recorded for skew and drift)`;
  }
  const why = dropCauses({ ...state, errors: state.lastError === undefined ? [] : [state.lastError] }, true);
  return `the serving log dropped ${state.rows} sampled rows${since} (of ${state.services.join(', ')}): ${why.join('; ')}; skew and drift over this period read an incomplete sample`;
}

/**
 * Reports one server's serving log drops as the health condition `serving_log_drops` of
 * `serving_log:<server>` (each server its own: one server's start or writes never end another's):
 * firing while rows are dropped (severity warn when only the buffer overflowed,
 * error once a write failed), with how many rows, since when and why in its details; cleared by
 * the flush after which every service that dropped rows writes again, by a clean close with
 * nothing dropped at its last flush, and when a writer of the same server starts (see `DropTally`).
 * A server that no longer runs has its condition ended by another server's sweep
 * (`sweepGoneServers`, serving layer). Only transitions make alerts (`HealthStore`), so an episode is
 * alerted once; while it fires, its counts are updated at most every 10 s. Reports are stored
 * in order, one at a time, off the request path; a failed report goes to `onError`.
 *
 * @example
 * const health = servingLogHealth(platform.metadata.health, platform.now, { server: 'web-1:6566' });
 * const log = servingLogWriter({ dataDir: platform.dataDir, onDrops: health.onDrops });
 */
export function servingLogHealth(store: HealthStore, now: () => number, options: ServingLogHealthOptions): ServingLogHealth {
  const subject = servingLogSubject(options.server);
  let chain: Promise<void> = Promise.resolve();
  let firing = false;
  let reportedAt = Number.NEGATIVE_INFINITY;
  let reportedSeverity: 'warn' | 'error' | undefined;
  const enqueue = (work: () => Promise<unknown>) => {
    chain = chain.then(work).then(
      () => undefined,
      (error: unknown) => options.onError?.(error),
    );
  };
  const onDrops = (state: ServingLogDropState) => {
    const severity = state.writeFailed > 0 ? 'error' : 'warn';
    const at = now();
    // While firing, the counts are refreshed now and then; a change of severity is reported at once (an escalation).
    if (state.dropping && firing && severity === reportedSeverity && at - reportedAt < UPDATE_EVERY_MS) return;
    firing = state.dropping;
    reportedAt = at;
    reportedSeverity = severity;
    const details = {
      server: options.server, rows: state.rows, bufferFull: state.bufferFull, writeFailed: state.writeFailed, services: state.services,
      ...(state.since === null ? {} : { since: toIso(state.since) }), ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
      ...(state.ended === undefined ? {} : { ended: state.ended }),
    };
    enqueue(() => store.report({ kind: SERVING_LOG_DROPS, subject, firing: state.dropping, severity, message: dropMessage(state), details }, at));
  };
  return { onDrops, settled: () => chain, close: () => chain };
}
