/**
 * What clearing a store's removed bytes did (`OnlineStore.scrubFreed`, `EventLog.scrubFreed`).
 *
 * @example
 * const report: ScrubReport = { compacted: false, pending: 'open in process 4711: ...' };
 */
export interface ScrubReport {
  /** True when no removed bytes are left in the store's files (rewritten into fresh pages, or nothing to clear). */
  readonly compacted: boolean;
  /** Why removed bytes can still be in the files, and when they will not be; absent when `compacted`. */
  readonly pending?: string;
  /** A file that exists for as long as the scrub is pending (the store's marker), so a status can tell without opening the store; absent when `compacted`. */
  readonly pendingWhile?: string;
}
