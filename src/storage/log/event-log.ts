import { ConflictError } from '../../errors.js';
import type { ScrubReport } from '../scrub-report.js';

/** An event refused on the way in, kept until it reaches the dead-letter store. */
export interface RejectedEvent {
  /** Index in the batch it came in. */
  readonly index: number;
  readonly raw: string;
  readonly reason: string;
  /** Where upstream holds it (`stream sequence 17`), when its connector said (see `UpstreamDetails`). */
  readonly at?: string;
}

/** One durable batch of a source's events, as handed in by one push or one connector append. */
export interface LogEntry {
  /** Per source, 1, 2, 3, ... in append order. */
  readonly offset: number;
  /** When Sluice acknowledged the batch (UTC epoch ms): the `known_at` of its events. */
  readonly ackTime: number;
  /** Who handed it in: `push`, or a connector kind. */
  readonly origin: string;
  /** The accepted events, as JSON object texts, in batch order (duplicates by event id left out). */
  readonly events: readonly string[];
  readonly rejected: readonly RejectedEvent[];
}

/** A batch to append; `ids` are the accepted events' ids when the source declares `eventId` (parallel to `events`). */
export interface LogAppend {
  readonly ackTime: number;
  readonly origin: string;
  readonly events: readonly string[];
  readonly ids?: readonly string[];
  readonly rejected: readonly RejectedEvent[];
  /** The origin's new position, stored with the entry (a connector resumes after it). */
  readonly position?: string;
  /**
   * The origin's position the batch was read after (`null`: none was stored). When given, the
   * append is conditional: it stores the batch only if that is still the origin's stored position,
   * checked in its transaction, and otherwise rejects with `positionMoved` and stores nothing (a
   * second runner of the connector appended meanwhile: resume from the stored position).
   */
  readonly after?: string | null;
}

/**
 * The conflict of a conditional append whose origin's position moved (see `LogAppend.after`).
 *
 * @example
 * throw positionMoved('payments', 'natsJetStream', '3000', null);
 */
export function positionMoved(source: string, origin: string, stored: string | null, after: string | null): ConflictError {
  return new ConflictError('CONFLICT', `source "${source}": the ${origin} position moved to ${stored ?? 'nothing'} while this batch was read after ${after ?? 'nothing'} (another process runs this connector?): the batch was not stored; resume from the stored position`, { details: { source, origin, stored, after } });
}

export interface LogAppendResult {
  readonly offset: number;
  /** Indices (into `events` of the append) left out because their id was seen within the dedupe horizon, or earlier in the batch. */
  readonly duplicates: readonly number[];
  /** Indices (into `rejected` of the append) left out because their text was rejected within the dedupe horizon: dead-lettered once, by the first. */
  readonly repeated: readonly number[];
}

/**
 * The embedded durable log between the ways in (push, connectors) and its consumers (online
 * state, the lake). Semantics every implementation keeps:
 * - `append` is atomic and durable when it resolves: the entry, the origin's position and the
 *   event ids are stored together or not at all. Appends of one source get increasing offsets
 *   in the order they commit; two processes never get the same offset.
 * - Event ids are remembered for `dedupeHorizonMs` after their acknowledgement: an accepted event
 *   whose id is remembered (or repeats an earlier one of the batch) is left out of the entry and
 *   reported in `duplicates`. With ids, a rejected event whose exact text was already rejected
 *   within the horizon (a retried batch whose first answer was lost) is left out of the entry's
 *   `rejected` and reported in `repeated`, so it is dead-lettered and counted once; its sender is
 *   still told it was rejected (as a repeat).
 * - A batch with `after` is appended only if its origin's stored position is still `after`, in the
 *   append's transaction (otherwise a ConflictError, nothing stored): two runners of one
 *   connector never both append what they read after the same position.
 * - `read` returns entries after `after`, in offset order, at most `limit`.
 * - Consumers keep their own checkpoints (`checkpoint`/`setCheckpoint`), by name; `trim` drops
 *   entries up to an offset every consumer is past.
 */
export interface EventLog {
  /**
   * `staged`, when given, is called with the entry's offset and duplicates once they are fixed in
   * the append's transaction, before it is durable: the entry may still be lost (a failed commit,
   * a crash), so use it to prepare work that waits for the append, never to publish.
   */
  append(source: string, batch: LogAppend, staged?: (result: LogAppendResult) => void): Promise<LogAppendResult>;
  read(source: string, after: number, limit: number): LogEntry[];
  /** Like `read`, the offsets and acknowledgement times of entries after `after`, without their events (cheap). */
  acknowledged(source: string, after: number, limit: number): { readonly offset: number; readonly ackTime: number }[];
  /**
   * The acknowledgement time of the newest entry of a source that kept an event (undefined: none):
   * an entry whose every event was rejected or a duplicate brought no new data (freshness).
   */
  lastKept(source: string): number | undefined;
  /** The last offset appended for a source (0 when none). */
  head(source: string): number;
  position(source: string, origin: string): string | undefined;
  checkpoint(consumer: string, source: string): number;
  setCheckpoint(consumer: string, source: string, offset: number): Promise<void>;
  /** Drops entries up to `upTo`, and event ids remembered until before `now`. */
  trim(source: string, upTo: number, now: number): Promise<number>;
  /** Records that lake snapshot `version` of a source holds the log's entries up to `offset`. */
  recordLakeOffset(source: string, version: number, offset: number): Promise<void>;
  /** The last log offset held by lake snapshot `version` (or the newest recorded before it); 0 when none. */
  lakeOffset(source: string, version: number): number;
  close(): Promise<void>;
  /**
   * Physically removes events from every entry of a source in one transaction (accepted events
   * and rejected ones, by their text): those `drop` selects. An entry keeps its offset, with the
   * other events in order; the ids the entry remembered for the removed events (and the hashes of
   * removed rejected texts) are forgotten, so no trace of a removed event stays in the dedupe
   * memory. Resolves how many events and bytes of text were removed.
   */
  removeEvents(source: string, drop: (text: string, rejected: boolean) => boolean): Promise<{ readonly events: number; readonly bytes: number }>;
  /**
   * Forgets event ids a source remembers for deduplication (ids of events erased from the lake
   * after the log was trimmed). `removeEvents` already forgets the ids of the events it removes.
   * Resolves how many of `ids` were remembered.
   */
  forgetIds(source: string, ids: readonly string[]): Promise<number>;
  /**
   * Claims event ids for events that reach the lake another way (a file ingest), so push,
   * connectors and files share one memory of what a source has seen. In one transaction: the ids
   * remembered within the horizon (by an append or another claim), or repeating an earlier one
   * of `ids`, are returned as duplicates (indices into `ids`) and left alone; the others are
   * remembered from `at` as an append's ids are, under the open claim `claim` made by `claimer`
   * (the claiming process's `ownProcessTag()`: a claim whose claimer died is released, see
   * `openClaims`). The caller commits its events and then calls `settleClaim`.
   */
  claimIds(source: string, claim: string, ids: readonly string[], at: number, claimer: string): Promise<readonly number[]>;
  /**
   * Which of `ids` (indices into it) the source remembers at `at` (an accepted event's id within
   * the horizon, or one claimed): a read, no write, so an append may still find others. The way in
   * asks before judging a request's events together, so an event sent again is a duplicate, not
   * part of the judgement (`append` still decides, in its transaction).
   */
  remembered(source: string, ids: readonly string[], at: number): readonly number[];
  /**
   * Ends a claim: its ids stay remembered (`committed`) or are forgotten (the events were not
   * stored). With `claimer`, only if that process still has the claim (not claimed again since by another).
   */
  settleClaim(source: string, claim: string, committed: boolean, claimer?: string): Promise<void>;
  /** Claims not settled yet (being committed, or their process stopped between claim and settle), with their claimers; cheap (no ids read). */
  openClaims(source: string): { readonly claim: string; readonly claimer: string | undefined }[];
  /**
   * Clears the bytes of removed entries and events from the store's files. Reports `compacted:
   * false` with the reason when it cannot yet (another process has the files open).
   */
  scrubFreed(): Promise<ScrubReport>;
}
