import type { AuditRecord, AuditTrail } from '../../storage/metadata/audit-store.js';
import { appendCheckpoint, CHECKPOINT_ACTION } from './audit-checkpoint.js';
import type { AuditSigningKey } from './audit-signing-key.js';

/** How often checkpoints are made by themselves: `SLUICE_AUDIT_CHECKPOINT_EVERY` records (default 1000, 0 for never). */
export const AUDIT_CHECKPOINT_EVERY_ENV = 'SLUICE_AUDIT_CHECKPOINT_EVERY';
export const DEFAULT_CHECKPOINT_EVERY = 1000;

/** The interval from the environment; a value that is not a whole number >= 0 falls back to the default. */
export function checkpointEveryFromEnv(env: NodeJS.ProcessEnv): number {
  const text = env[AUDIT_CHECKPOINT_EVERY_ENV];
  const n = text === undefined || !/^\d+$/.test(text.trim()) ? Number.NaN : Number(text);
  return Number.isSafeInteger(n) ? n : DEFAULT_CHECKPOINT_EVERY;
}

export interface AutoCheckpointOptions {
  /** Sign a checkpoint after every record whose seq is a multiple of this; 0 for never. */
  readonly every: number;
  /** The signing key, read when the first checkpoint is due. */
  readonly key: () => AuditSigningKey;
  /** A checkpoint that could not be made (say, an unreadable key) is reported here; the append it follows stands. */
  readonly onError: (error: unknown) => void;
}

/**
 * The audit trail, checkpointing itself: after an append lands on a multiple of `every`, the
 * appender (of one record or of a group-committed batch) signs that record and stores the
 * checkpoint in the chain. A seq is taken by exactly one
 * append, so processes sharing the trail make one checkpoint per `every` records between them,
 * with no state of their own. Every path that appends (CLI, server, scheduler) goes through it.
 *
 * @example
 * const audit = checkpointingAuditTrail(store.audit, { every: 1000, key: () => auditSigningKey(dataDir), onError: log });
 */
export function checkpointingAuditTrail(trail: AuditTrail, options: AutoCheckpointOptions): AuditTrail {
  if (options.every <= 0) return trail;
  const checkpointIfDue = async (record: AuditRecord, at: number): Promise<void> => {
    if (record.seq % options.every !== 0 || record.action === CHECKPOINT_ACTION) return;
    try {
      await appendCheckpoint(trail, options.key(), at, { actor: 'sluice', origin: 'local', reason: `every ${options.every} records` }, record);
    } catch (error) {
      options.onError(error);
    }
  };
  return {
    async append(event, at) {
      const record = await trail.append(event, at);
      await checkpointIfDue(record, at);
      return record;
    },
    async appendMany(entries) {
      const records = await trail.appendMany(entries);
      for (const [i, record] of records.entries()) await checkpointIfDue(record, entries[i]!.at);
      return records;
    },
    list: (filter) => trail.list(filter),
    head: () => trail.head(),
  };
}
