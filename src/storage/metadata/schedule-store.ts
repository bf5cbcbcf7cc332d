import type { HolderGone, LeaseHolder } from './metadata-store.js';

/** What started a run: a person (`sluice run`), a cron schedule, an event trigger, or a backfill. */
export type RunTrigger = 'manual' | 'schedule' | 'trigger' | 'backfill';

export type RunKeyStatus = 'running' | 'succeeded' | 'failed';

/**
 * One idempotent unit of scheduled work: a firing (`materialize:fraud_v1@2026-01-01T10:05:00.000Z`),
 * a triggered run (`materialize:fraud_v1@payments@3-ab12cd34`) or a backfill partition
 * (`ingest:payments@2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z`). Its attempts are runs.
 */
export interface RunKeyRecord {
  readonly key: string;
  readonly job: string;
  readonly trigger: RunTrigger;
  /** The firing time or the partition start (epoch ms); null for a triggered run. */
  readonly scheduledFor: number | null;
  readonly status: RunKeyStatus;
  /** Attempts started so far (runs in run history). */
  readonly attempts: number;
  readonly lastRunId: string | null;
  readonly holder: LeaseHolder;
  readonly claimedAt: number;
  readonly finishedAt: number | null;
  readonly error: string | null;
}

export interface RunKeyClaim {
  readonly key: string;
  readonly job: string;
  readonly trigger: RunTrigger;
  readonly scheduledFor?: number;
  readonly holder: LeaseHolder;
}

/**
 * Run keys and scheduler cursors. Semantics every implementation keeps:
 * - `claim` is atomic: of any number of claimers of one key (in any process), exactly one gets
 *   `claimed: true`; a key is stored once (UNIQUE). Without `reclaim`, an existing key is never
 *   claimed again, whatever its status (a schedule's firing runs at most once). With `reclaim`, a
 *   `failed` key, or a `running` one whose claimer is gone (while its last run is running, that
 *   run's lease is gone by `reclaim`; otherwise, before its first run, between attempts, or
 *   between finishing a run and settling the key, its holder is), is claimed again by the caller;
 *   with `rerun` as well, so is a `succeeded` key (a backfill's `--rerun`), never a live `running` one.
 * - `startAttempt` counts an attempt and links its run; attempts of a key are numbered from 1
 *   and keep counting across reclaims.
 * - `advanceCursor` only moves a cursor forward.
 * - Times are UTC epoch milliseconds.
 */
export interface ScheduleStore {
  claim(claim: RunKeyClaim, at: number, options?: { readonly reclaim?: HolderGone; readonly rerun?: boolean }): Promise<{ claimed: boolean; record: RunKeyRecord }>;
  /** Counts a new attempt of a claimed key, run as `runId`; returns its number (1 for the first). */
  startAttempt(key: string, runId: string): Promise<number>;
  finish(key: string, outcome: { status: 'succeeded' | 'failed'; error?: string }, at: number): Promise<void>;
  get(key: string): Promise<RunKeyRecord | undefined>;
  /** Run keys, newest claim first: of one job, or whose key starts with `prefix`. */
  list(filter: { job?: string; prefix?: string; limit?: number }): Promise<RunKeyRecord[]>;
  /** Up to when a schedule's firings were considered (epoch ms); undefined before its first tick. */
  cursor(schedule: string): Promise<number | undefined>;
  advanceCursor(schedule: string, to: number): Promise<void>;
}
