import type { HealthStore } from '../../storage/metadata/health-store.js';
import { toIso } from '../../time/index.js';
import type { ServingLogDropState } from './drop-tally.js';
import { dropCauses } from './serving-log-drops.js';

/** The health condition of the serving log's dropped rows: kind and subject. */
export const SERVING_LOG_DROPS = { kind: 'serving_log_drops', subject: 'serving_log' } as const;

/** How often a firing condition's counts are updated in the metadata store, at most (the first report is at once). */
const UPDATE_EVERY_MS = 10_000;

export interface ServingLogHealth {
  /** The writer's `onDrops`: never throws, never waits. */
  readonly onDrops: (state: ServingLogDropState) => void;
  /** Resolves when the reports made so far are stored. */
  settled(): Promise<void>;
}

/** One line a person can act on, for a drop episode. */
export function dropMessage(state: ServingLogDropState): string {
  const since = state.since === null ? '' : ` since ${toIso(state.since)}`;
  if (!state.dropping) {
    if (state.ended === 'started') return 'a serving log writer started: a condition left by an earlier process ends (its drops stay recorded for skew and drift)';
    if (state.rows === 0) return 'the serving log writes every sampled row';
    const ended = state.ended === 'stopped' ? 'the serving log stopped with nothing dropped at its last write' : 'the serving log writes again';
    return `${ended}; ${state.rows} sampled rows were dropped${since} (recorded for skew and drift)`;
  }
  const why = dropCauses({ ...state, errors: state.lastError === undefined ? [] : [state.lastError] }, true);
  return `the serving log dropped ${state.rows} sampled rows${since} (of ${state.services.join(', ')}): ${why.join('; ')}; skew and drift over this period read an incomplete sample`;
}

/**
 * Reports the serving log writer's drops as the health condition `serving_log_drops` of
 * `serving_log`: firing while rows are dropped (severity warn when only the buffer overflowed,
 * error once a write failed), with how many rows, since when and why in its details; cleared by
 * the flush after which every service that dropped rows writes again, by a clean close with
 * nothing dropped at its last flush, and when a writer starts (see `DropTally`). Only transitions make alerts (`HealthStore`), so an episode is
 * alerted once; while it fires, its counts are updated at most every 10 s. Reports are stored
 * in order, one at a time, off the request path; a failed report goes to `onError`.
 *
 * @example
 * const health = servingLogHealth(platform.metadata.health, platform.now);
 * const log = servingLogWriter({ dataDir: platform.dataDir, onDrops: health.onDrops });
 */
export function servingLogHealth(store: HealthStore, now: () => number, onError?: (error: unknown) => void): ServingLogHealth {
  let chain: Promise<void> = Promise.resolve();
  let firing = false;
  let reportedAt = Number.NEGATIVE_INFINITY;
  let reportedSeverity: 'warn' | 'error' | undefined;
  const onDrops = (state: ServingLogDropState) => {
    const severity = state.writeFailed > 0 ? 'error' : 'warn';
    const at = now();
    // While firing, the counts are refreshed now and then; a change of severity is reported at once (an escalation).
    if (state.dropping && firing && severity === reportedSeverity && at - reportedAt < UPDATE_EVERY_MS) return;
    firing = state.dropping;
    reportedAt = at;
    reportedSeverity = severity;
    const details = {
      rows: state.rows, bufferFull: state.bufferFull, writeFailed: state.writeFailed, services: state.services,
      ...(state.since === null ? {} : { since: toIso(state.since) }), ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
      ...(state.ended === undefined ? {} : { ended: state.ended }),
    };
    chain = chain.then(() => store.report({ ...SERVING_LOG_DROPS, firing: state.dropping, severity, message: dropMessage(state), details }, at)).then(
      () => undefined,
      (error: unknown) => onError?.(error),
    );
  };
  return { onDrops, settled: () => chain };
}
