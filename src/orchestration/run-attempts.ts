import type { Project, Schedule } from '../definitions/index.js';
import type { Principal } from '../compliance/principal.js';
import { InterruptedError, isRetryable, isSluiceError, TimeoutError } from '../errors.js';
import { repeatInterrupts } from '../storage/engine/repeat-interrupts.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import type { RunKeyClaim } from '../storage/metadata/schedule-store.js';
import { formatDuration } from '../time/index.js';
import type { SchedulerClock } from './clock.js';
import { errorWithCause } from './job-health.js';
import { holderIsGone } from './lease.js';
import { runJob, type JobContext, type JobStats, type Partition } from './run-job.js';
import { currentRunId, stoppedError, withStopSignal } from './track-run.js';

/** How a keyed run is retried and bounded (a schedule's, or a backfill's). */
export type RetryPolicy = Pick<Schedule, 'retries' | 'timeoutMs' | 'backoffBaseMs' | 'backoffMaxMs'>;

/**
 * The wait before attempt `failed + 1`, after `failed` failed attempts: exponential backoff with
 * full jitter, uniformly in `[0, min(max, base * 2^(failed - 1)))`.
 *
 * @example
 * backoffDelay(3, { backoffBaseMs: 1_000, backoffMaxMs: 60_000 }, () => 0.5); // 2000
 */
export function backoffDelay(failed: number, policy: Pick<RetryPolicy, 'backoffBaseMs' | 'backoffMaxMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(failed - 1, 52));
  return Math.floor(random() * ceiling);
}

/** How long a stopped attempt waits for its work to stop before it answers without it (see `withTimeout`). */
export const STOP_GRACE_MS = 60_000;

/**
 * Runs `work` with a time limit on `clock`: past `timeoutMs` the signal given to `work` aborts
 * with a TimeoutError `timed out after 10m`, and the statement running on `jc.engine()` is
 * interrupted (again until `work` settles); `stop` aborts it the same way with its reason. The
 * result then says what happened to the work, once it has stopped: if it stopped before its
 * commit point, the stop's reason (what a stop interrupted is its cause); if it went past it
 * and finished, its result, as it committed. Work that has not stopped `graceMs` after the stop
 * gets the reason with "its work had not stopped" (it may still commit: see its own runs).
 * `onSettled` runs once `work` has settled.
 *
 * @example
 * await withTimeout(jc, systemClock, 600_000, scheduler.signal, (signal) => buildDataset(jc, project, { ...options, signal }));
 */
export async function withTimeout<T>(jc: JobContext, clock: SchedulerClock, timeoutMs: number, stop: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>, onSettled?: () => Promise<void>, graceMs = STOP_GRACE_MS): Promise<T> {
  if (stop?.aborted) {
    // Work that never started has settled: whoever waits for `onSettled` must not wait forever.
    await onSettled?.().catch(() => undefined);
    throw stopReason(stop.reason);
  }
  const controller = new AbortController();
  const settled = new AbortController();
  let interrupting: (() => void) | undefined;
  const halt = (reason: Error) => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    interrupting = repeatInterrupts(() => void jc.engine().then((engine) => engine.interrupt(), () => undefined));
  };
  void clock.sleep(timeoutMs, settled.signal).then(() => {
    if (!settled.signal.aborted) halt(new TimeoutError('TIMED_OUT', `timed out after ${formatDuration(timeoutMs)}`));
  });
  stop?.addEventListener('abort', () => halt(stopReason(stop.reason)), { once: true, signal: settled.signal });
  const running = withStopSignal(controller.signal, () => work(controller.signal)).then((value) => ({ value }), (error: unknown) => ({ error }));
  const overdue = new Promise<'overdue'>((resolve) => {
    controller.signal.addEventListener('abort', () => {
      const timer = setTimeout(resolve, graceMs, 'overdue');
      timer.unref();
      settled.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    }, { once: true, signal: settled.signal });
  });
  try {
    const outcome = await Promise.race([running, overdue]);
    if (outcome === 'overdue') throw stillStopping(controller.signal.reason as Error, graceMs);
    if ('value' in outcome) return outcome.value;
    throw controller.signal.aborted ? stoppedError(controller.signal, outcome.error) : outcome.error;
  } finally {
    settled.abort();
    void running.finally(() => {
      interrupting?.();
      return onSettled?.();
    }).catch(() => undefined);
  }
}

/** A stop's reason as the error model has it: an InterruptedError unless it is one of ours already. */
function stopReason(reason: unknown): Error {
  if (isSluiceError(reason)) return reason;
  return new InterruptedError('INTERRUPTED', reason instanceof Error ? reason.message : String(reason), { cause: reason });
}

/** A stop that came while a keyed run waited to retry after attempt `attempt` failed with `error`. */
function interruptedWhileWaiting(reason: unknown, attempt: number, error: unknown): Error {
  const stop = stopReason(reason);
  const message = `${stop.message}, while waiting to retry (attempt ${attempt} failed: ${errorWithCause(error).message})`;
  return new InterruptedError('INTERRUPTED', message, { details: isSluiceError(stop) ? stop.details : undefined, cause: error });
}

/** The stop's reason, for work that had not stopped `graceMs` after it. */
function stillStopping(reason: Error, graceMs: number): Error {
  const message = `${reason.message}; its work had not stopped ${formatDuration(graceMs)} later and may yet commit (see "sluice runs" for its own runs)`;
  const details = isSluiceError(reason) ? reason.details : undefined;
  return reason instanceof TimeoutError ? new TimeoutError('TIMED_OUT', message, { details, cause: reason }) : new InterruptedError('INTERRUPTED', message, { details, cause: reason });
}

/** A job context whose `engine()` is a DuckDB of its own, opened on first use; `close` closes it. */
function ownEngine(jc: JobContext): { jc: JobContext; close: () => Promise<void> } {
  let engine: Promise<SqlEngine> | undefined;
  return {
    jc: { ...jc, engine: () => (engine ??= jc.newEngine()) },
    close: async () => {
      if (engine) await (await engine).close();
    },
  };
}

export interface KeyedRunOptions {
  readonly claim: RunKeyClaim;
  readonly policy: RetryPolicy;
  readonly clock: SchedulerClock;
  readonly random?: () => number;
  readonly partition?: Partition;
  /** Reclaim a failed key, or one whose claimer died (backfills); a schedule's firing is never reclaimed. */
  readonly reclaim?: boolean;
  /** With `reclaim`, a succeeded key too, and run the job as a re-run (`JobRunOptions.rerun`): a backfill's `--rerun`. */
  readonly rerun?: boolean;
  /** Stops the attempts (a stopping scheduler): the current one fails and no other starts. */
  readonly signal?: AbortSignal;
  /** Told whether the key was claimed, before any attempt starts. */
  readonly onClaim?: (claimed: boolean) => void;
  /** Told before each wait for a retry. */
  readonly onRetry?: (attempt: number, delayMs: number, error: Error) => void;
  /** Who each attempt acts as (see `JobRunOptions.principal`). */
  readonly principal?: Principal;
}

export type KeyedRunOutcome =
  | { readonly status: 'not-claimed'; readonly holderStatus: string }
  | { readonly status: 'succeeded'; readonly attempts: number; readonly stats: JobStats }
  | { readonly status: 'failed'; readonly attempts: number; readonly error: Error };

/**
 * Runs a job under an idempotent run key: claims the key (exactly one claimer wins, see
 * `ScheduleStore.claim`), then runs attempts, each a tracked run linked to the key, each bounded
 * by the policy's timeout, with exponential backoff and full jitter between them, until one
 * succeeds or the retries are spent. The key ends `succeeded` or `failed`.
 *
 * @example
 * await runKeyed(jc, project, 'materialize:fraud_v1', { claim, policy: schedule, clock: systemClock });
 */
export async function runKeyed(jc: JobContext, project: Project, job: string, options: KeyedRunOptions): Promise<KeyedRunOutcome> {
  const store = jc.metadata.schedules;
  const { claim, policy, clock } = options;
  const claimed = await store.claim(claim, clock.now(), options.reclaim ? { reclaim: holderIsGone, rerun: options.rerun === true } : {});
  options.onClaim?.(claimed.claimed);
  if (!claimed.claimed) return { status: 'not-claimed', holderStatus: claimed.record.status };
  let attempts = claimed.record.attempts;
  let lastStopped = Promise.resolve();
  for (let tries = 0; ; tries++) {
    attempts++;
    try {
      // Its own DuckDB, so interrupting a timed-out attempt stops no other job's statement.
      const scope = ownEngine(jc);
      // A failed attempt's work may still be stopping (withTimeout gives up on it STOP_GRACE_MS
      // after the stop): the next attempt, or the caller closing the platform, waits for it, or
      // its run is left behind.
      let settled = (): void => undefined;
      const stopped = new Promise<void>((resolve) => (settled = resolve));
      lastStopped = Promise.resolve();
      const stats = await runJob(scope.jc, project, job, {
        trigger: claim.trigger, runKey: claim.key, attempt: attempts, timeoutMs: policy.timeoutMs,
        ...(options.partition ? { partition: options.partition } : {}),
        ...(options.rerun ? { rerun: true } : {}),
        ...(options.principal ? { principal: options.principal } : {}),
        limit: (work) => {
          lastStopped = stopped;
          return withTimeout(scope.jc, clock, policy.timeoutMs, options.signal, work, () => scope.close().finally(settled));
        },
        onStart: async () => void (await store.startAttempt(claim.key, currentRunId()!)),
      });
      await store.finish(claim.key, { status: 'succeeded' }, clock.now());
      return { status: 'succeeded', attempts, stats };
    } catch (error) {
      await lastStopped;
      // A refusal is not transient: retrying would only repeat it (and its audit record).
      const last = tries >= policy.retries || options.signal?.aborted === true || !isRetryable(error);
      if (last) {
        await store.finish(claim.key, { status: 'failed', error: errorWithCause(error).message }, clock.now());
        return { status: 'failed', attempts, error: error as Error };
      }
      const delay = backoffDelay(tries + 1, policy, options.random);
      options.onRetry?.(attempts + 1, delay, error as Error);
      await clock.sleep(delay, options.signal);
      if (options.signal?.aborted) {
        // Stopped while waiting to retry: the firing ends here, with no attempt that never ran.
        const stopped = interruptedWhileWaiting(options.signal.reason, attempts, error);
        await store.finish(claim.key, { status: 'failed', error: stopped.message }, clock.now());
        return { status: 'failed', attempts, error: stopped };
      }
    }
  }
}
