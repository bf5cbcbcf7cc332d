import { AdapterError, isSluiceError } from '../../errors.js';
import type { AuditEvent, AuditRecord, AuditTrail } from '../../storage/metadata/audit-store.js';
import { appendCheckpoint, CHECKPOINT_ACTION } from './audit-checkpoint.js';
import type { AuditSigningKey } from './audit-signing-key.js';

/** A failed audit write as a Sluice error: which record could not be written, why, and the fix (a Sluice error passes as it is). */
function unwritten(error: unknown, events: readonly AuditEvent[]): never {
  if (isSluiceError(error)) throw error;
  const first = events[0];
  const what = first === undefined ? 'its records' : `"${first.action}" on ${first.target}${events.length > 1 ? ` and ${events.length - 1} more` : ''}`;
  throw new AdapterError('ADAPTER_FAILED', `the audit trail could not record ${what} (${error instanceof Error ? error.message : String(error)}), so the command stopped there, after what it reported above: make .sluice/metadata.db writable (free disk space, check its permissions) and run it again`, { cause: error });
}

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
 * with no state of their own. Every path that appends (CLI, server, scheduler) goes through it,
 * so it is also where a failed write (a full disk, a read-only metadata file) becomes a Sluice
 * error naming the record and the fix: the action that needed the record stops.
 *
 * @example
 * const audit = checkpointingAuditTrail(store.audit, { every: 1000, key: () => auditSigningKey(dataDir), onError: log });
 */
export function checkpointingAuditTrail(trail: AuditTrail, options: AutoCheckpointOptions): AuditTrail {
  const checkpointIfDue = async (record: AuditRecord, at: number): Promise<void> => {
    if (options.every <= 0 || record.seq % options.every !== 0 || record.action === CHECKPOINT_ACTION) return;
    try {
      await appendCheckpoint(trail, options.key(), at, { actor: 'sluice', origin: 'local', reason: `every ${options.every} records` }, record);
    } catch (error) {
      options.onError(error);
    }
  };
  return {
    async append(event, at) {
      const record = await trail.append(event, at).catch((error: unknown) => unwritten(error, [event]));
      await checkpointIfDue(record, at);
      return record;
    },
    async appendMany(entries) {
      const records = await trail.appendMany(entries).catch((error: unknown) => unwritten(error, entries.map((e) => e.event)));
      for (const [i, record] of records.entries()) await checkpointIfDue(record, entries[i]!.at);
      return records;
    },
    list: (filter) => trail.list(filter),
    head: () => trail.head(),
  };
}
