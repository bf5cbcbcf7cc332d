import type { FeatureView, Project, Source } from '../definitions/index.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import type { EventLog, LogEntry } from '../storage/log/event-log.js';
import { subjectKeys, type ErasureCheck } from '../compliance/erasure/erased-rows.js';
import { decodeEvents, sourceViews, type DecodedEvents, type EventPart } from './decode-events.js';
import { decodePlainEvents, plainDecodable } from './decode-plain.js';

/**
 * How a stream processor decodes events, new groups and log entries read again alike: by the
 * plain path when the definitions allow it and no subject is erased (`decodePlainEvents`),
 * else in DuckDB, on the processor's own engine, one decode at a time (`decodeEvents` uses
 * fixed temporary tables).
 *
 * @example
 * const decoder = new StreamDecoder(engine, erasure, (source, ids, at) => log.remembered(source, ids, at));
 * const decoded = await decoder.decodeGroup(project, source, [{ body }], now, views, () => undefined);
 */
export class StreamDecoder {
  private engineBusy: Promise<unknown> = Promise.resolve();

  /** `remembered`: which ids a source remembers at a time (`EventLog.remembered`), so a request's checks do not judge events sent again. */
  constructor(private readonly engine: SqlEngine, private readonly erasure: ErasureCheck | undefined, private readonly remembered?: EventLog['remembered']) {}

  /** Decodes a new group's batches as acknowledged at `ackTime`; `at` says when it waits for the engine and when it decodes there. */
  async decodeGroup(project: Project, source: Source, parts: readonly EventPart[], ackTime: number, views: readonly FeatureView[], at: (stage: 'waiting for the engine' | 'decoding') => void): Promise<DecodedEvents & { readonly counts: readonly (number | string)[] }> {
    const plain = (await this.plainPath(project, source, views)) ? decodePlainEvents(project, source, parts, ackTime) : undefined;
    if (plain !== undefined) return plain;
    at('waiting for the engine');
    return this.withEngine(() => (at('decoding'), decodeEvents(this.engine, project, source, parts, ackTime, true, views, this.erasure, this.remembered && ((ids) => this.remembered!(source.name, ids, ackTime)))));
  }

  /** Decodes a log entry again (its events were accepted at its acknowledgement), for `view` only when given. */
  async decodeEntry(project: Project, source: Source, entry: LogEntry, view?: FeatureView): Promise<DecodedEvents> {
    const views = view === undefined ? sourceViews(project, source) : [view];
    const plain = (await this.plainPath(project, source, views)) ? decodePlainEvents(project, source, [{ texts: entry.events }], entry.ackTime, false) : undefined;
    if (plain !== undefined) return plain;
    return this.withEngine(() => decodeEvents(this.engine, project, source, [{ texts: entry.events }], entry.ackTime, false, views, this.erasure));
  }

  private withEngine<T>(work: () => Promise<T>): Promise<T> {
    const run = this.engineBusy.then(work, work);
    this.engineBusy = run.catch(() => undefined);
    return run;
  }

  /**
   * Whether a group of `source` may try the plain path (`decodePlainEvents`): its definitions
   * allow it, and no subject it identifies is erased (the block list is checked in DuckDB).
   */
  private async plainPath(project: Project, source: Source, views: readonly FeatureView[]): Promise<boolean> {
    if (!plainDecodable(project, source, views)) return false;
    return this.erasure === undefined || subjectKeys(project, source).length === 0 || (await this.erasure.erasure.blockListVersion()) === 0;
  }
}
