import type { Project } from '../definitions/index.js';
import type { Principal } from '../compliance/principal.js';
import { ValidationError } from '../errors.js';
import { toIso } from '../time/index.js';
import { systemClock, type SchedulerClock } from './clock.js';
import { newLeaseHolder } from './lease.js';
import { runKeyed, type RetryPolicy } from './run-attempts.js';
import { findJob, notIngestedInPartition, supportsPartitions, undatedFiles, type JobContext, type Partition } from './run-job.js';

/** At most this many partitions in one backfill (a typo in --partition must not claim a million keys). */
export const MAX_PARTITIONS = 10_000;

export interface BackfillOptions {
  readonly from: number;
  readonly to: number;
  readonly partitionMs: number;
  readonly policy: RetryPolicy;
  readonly clock?: SchedulerClock;
  readonly random?: () => number;
  /**
   * Run the partitions again even when they succeeded (`--rerun`, after a fix of the source's
   * definition): each partition's files are ingested in place of their earlier ingests, so their
   * rows are replaced atomically, never doubled; its runs record `rerun: true`. A partition
   * another live backfill runs is still left to it.
   */
  readonly rerun?: boolean;
  /** Who each partition's run acts as (the CLI's principal): authorized and recorded per run. */
  readonly principal?: Principal;
  /** Called after each partition with the counts so far. */
  readonly onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  /** Partitions that had already succeeded in an earlier backfill and were not run again. */
  readonly skipped: number;
  /** Partitions another live backfill is running: left to it, not confirmed done by this one. */
  readonly runningElsewhere: number;
}

export interface PartitionOutcome {
  readonly key: string;
  readonly start: string;
  readonly end: string;
  readonly status: 'succeeded' | 'failed' | 'skipped' | 'running-elsewhere';
  readonly attempts: number;
  readonly error?: string;
  /** Of a partition skipped as done: files in it whose content was never ingested (they arrived after its run). */
  readonly notIngested?: readonly string[];
}

export interface BackfillResult extends BackfillProgress {
  readonly job: string;
  /** Whether the partitions done before were run again (`BackfillOptions.rerun`). */
  readonly rerun: boolean;
  /** Files the job's glob matches that carry no date (relative to the project): in no partition, so not ingested. */
  readonly undatedFiles: readonly string[];
  readonly partitions: readonly PartitionOutcome[];
}

/**
 * `[from, to)` split into partitions of `partitionMs` from `from` (the last one may be shorter).
 *
 * @example
 * partitions(0, 3 * DAY, DAY); // [{ start: 0, end: DAY }, { start: DAY, end: 2 * DAY }, { start: 2 * DAY, end: 3 * DAY }]
 */
export function partitions(from: number, to: number, partitionMs: number): Partition[] {
  if (!(to > from)) throw new ValidationError('VALIDATION_FAILED', `backfill range is empty: --to ${toIso(to)} must be after --from ${toIso(from)}`);
  const count = Math.ceil((to - from) / partitionMs);
  if (count > MAX_PARTITIONS) throw new ValidationError('VALIDATION_FAILED', `backfill of ${count} partitions is more than ${MAX_PARTITIONS}; use a longer --partition`);
  return Array.from({ length: count }, (_, i) => ({ start: from + i * partitionMs, end: Math.min(to, from + (i + 1) * partitionMs) }));
}

/** The run key of a backfill partition: `<job>@<start ISO>/<end ISO>`. */
export function partitionKey(job: string, partition: Partition): string {
  return `${job}@${toIso(partition.start)}/${toIso(partition.end)}`;
}

/**
 * Backfills a job over a time range: one run key per partition (`partitionKey`), each run with
 * the partition as its parameters and retried on its own (see `runKeyed`). Resumable: a
 * partition that succeeded before is skipped (with `rerun`, run again in place of its rows); a failed one, or one whose backfill died, is run
 * again; one another live backfill is running is left to it. A failed partition does not stop
 * the others. Which jobs take partitions: ingest jobs (the files whose names carry a date in
 * the partition).
 *
 * @example
 * await backfill(jc, project, 'ingest:payments', { from, to, partitionMs: 86_400_000, policy });
 */
export async function backfill(jc: JobContext, project: Project, job: string, options: BackfillOptions): Promise<BackfillResult> {
  const definition = findJob(project, job);
  if (!supportsPartitions(definition)) {
    throw new ValidationError('VALIDATION_FAILED', `job "${job}" cannot be backfilled by partition; backfill an ingest job (each partition ingests the files whose names carry a date in it, e.g. data/payments/2026-01-31.csv)`);
  }
  const clock = options.clock ?? systemClock;
  const holder = newLeaseHolder();
  const parts = partitions(options.from, options.to, options.partitionMs);
  const outcomes: PartitionOutcome[] = [];
  const progress = { total: parts.length, done: 0, failed: 0, skipped: 0, runningElsewhere: 0 };
  for (const partition of parts) {
    const key = partitionKey(job, partition);
    const outcome = await runKeyed(jc, project, job, {
      claim: { key, job, trigger: 'backfill', scheduledFor: partition.start, holder }, policy: options.policy, clock, partition, reclaim: true, rerun: options.rerun === true,
      ...(options.random ? { random: options.random } : {}), ...(options.principal ? { principal: options.principal } : {}),
    });
    const span = { key, start: toIso(partition.start), end: toIso(partition.end) };
    if (outcome.status === 'not-claimed') {
      const done = outcome.holderStatus === 'succeeded';
      const notIngested = done ? await notIngestedInPartition(jc, project, job, partition) : [];
      outcomes.push({ ...span, status: done ? 'skipped' : 'running-elsewhere', attempts: 0, ...(notIngested.length > 0 ? { notIngested } : {}) });
      if (done) progress.skipped++;
      else progress.runningElsewhere++;
    } else if (outcome.status === 'succeeded') {
      outcomes.push({ ...span, status: 'succeeded', attempts: outcome.attempts });
      progress.done++;
    } else {
      outcomes.push({ ...span, status: 'failed', attempts: outcome.attempts, error: outcome.error.message });
      progress.failed++;
    }
    options.onProgress?.({ ...progress });
  }
  return { job, rerun: options.rerun === true, ...progress, undatedFiles: undatedFiles(jc, project, job), partitions: outcomes };
}
