import type { AppendOutcome } from '../ingest/connectors/connector.js';
import { SluiceError, ValidationError } from '../errors.js';
import { PART, type DecodedEvents, type EventPart } from './decode-events.js';
import type { LogAppendResult } from '../storage/log/event-log.js';

/** What a group of batches is doing or waiting for, in the order a group goes through them (the catch-up pair only when a table is behind). */
export type GroupStage =
  | 'decoding' | 'waiting for the engine' | 'appending to the log' | 'waiting for the previous group' | 'making online states'
  | 'waiting for the log to be durable' | 'catching up online from the log' | 'committing online after the log is durable';

/** Where a group of batches is in the stream processor's pipeline, for status: a push that waits long says on what. */
export interface GroupProgress {
  /** Batches in the group. */
  readonly batches: number;
  /** When the group was taken from the queue. */
  readonly since: number;
  stage: GroupStage;
  stageSince: number;
}

/** A batch handed in and waiting for its answer. */
export interface Waiting {
  /** The batch, until it is decoded (then released: a large push body's text need not live until the answer). */
  part: EventPart | undefined;
  readonly origin: string;
  readonly position: string | undefined;
  /** The origin's position the batch was read after, when its connector said (a conditional append, see `LogAppend.after`). */
  readonly after: string | null | undefined;
  readonly bytes: number;
  /** The memory held for it in the processor's budget until it is answered (see `MemoryBudget`). */
  readonly memory: number;
  resolve(outcome: AppendOutcome): void;
  reject(error: unknown): void;
}

/** A batch refused because Sluice is behind: the caller retries after `retryAfterSeconds`. */
export class OverloadedError extends SluiceError {
  readonly retryAfterSeconds = 1;
}

/**
 * Bytes of events per group (a group always takes at least one batch). A value is visible when
 * its group's online update commits, so a group's size bounds freshness: about 850 events at
 * 150 bytes each, some 25-35 ms of one core's work at today's 30-40 us per event (at 256 KiB,
 * two batches of 1,000 per group, freshness p50 was 200 ms against 100 ms at this size; the
 * throughput was the same).
 */
const MAX_GROUP_BYTES = 128 * 1024;

/**
 * Takes the next group from the front of `waiting`: batches of one origin (a connector's position
 * must describe the whole entry), up to `MAX_GROUP_BYTES` (at least one batch). Returns it and its bytes.
 */
export function takeGroup(waiting: Waiting[]): { readonly group: Waiting[]; readonly size: number } {
  const origin = waiting[0]!.origin;
  const group: Waiting[] = [];
  let size = 0;
  // A batch read after another position than the group's last one ends the group: the entry's `after` is its first batch's.
  const chained = (next: Waiting) => group.length === 0 || next.after === undefined || next.after === group.at(-1)!.position;
  while (waiting.length > 0 && waiting[0]!.origin === origin && chained(waiting[0]!) && (group.length === 0 || size + waiting[0]!.bytes <= MAX_GROUP_BYTES)) {
    const next = waiting.shift()!;
    group.push(next);
    size += next.bytes;
  }
  return { group, size };
}

/**
 * Answers each batch of a group whose events are durable and visible online: what became of its
 * events (accepted, duplicates, rejected with reasons, by index in the batch), or a ValidationError
 * for a push body that is not `{"events": [...]}`. `logged`: what the log's append left out
 * (`LogAppendResult`): duplicates by id, and rejections repeated (answered with `repeat`).
 * `onAppended` sees each answer first.
 */
export function answerGroup(source: string, group: readonly Waiting[], decoded: DecodedEvents & { readonly counts: readonly (number | string)[] }, logged: Pick<LogAppendResult, 'duplicates' | 'repeated'>, onAppended?: (source: string, origin: string, outcome: AppendOutcome) => void): void {
  const { duplicates } = logged;
  const repeated = new Set(logged.repeated);
  group.forEach((w, p) => {
    const count = decoded.counts[p]!;
    if (typeof count === 'string') return w.reject(new ValidationError('BAD_REQUEST', count));
    const lo = p * PART;
    const hi = lo + PART;
    const mine = (line: number) => line >= lo && line < hi;
    // Accepted means new, as for file ingest and the metrics: a duplicate is counted once, as a duplicate (found by the log, or before it when decoding).
    const dropped = duplicates.filter((r) => mine(decoded.lines[r]!)).length;
    const before = decoded.duplicates?.filter(mine).length ?? 0;
    const outcome: AppendOutcome = {
      accepted: decoded.lines.filter(mine).length - dropped,
      duplicates: dropped + before,
      rejected: decoded.rejected.flatMap((r, i) => (mine(r.index) ? [{ index: r.index - lo, reason: r.reason, ...(repeated.has(i) ? { repeat: true as const } : {}) }] : [])),
    };
    onAppended?.(source, w.origin, outcome);
    w.resolve(outcome);
  });
}
