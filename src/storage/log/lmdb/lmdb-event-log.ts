import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Database, Key } from 'lmdb';
import { environmentDirectory, openEnvironment } from '../../lmdb/open-environment.js';
import { closeCompacting, compactEnvironment, swapGate } from '../../lmdb/compact-environment.js';
import type { ScrubReport } from '../../scrub-report.js';
import { positionMoved, type EventLog, type LogEntry } from '../event-log.js';

export interface LmdbEventLogConfig {
  /** The LMDB environment directory, e.g. `.sluice/log`. */
  readonly path: string;
  /** How long an event id is remembered for deduplication. Default 7 days. */
  readonly dedupeHorizonMs?: number;
  /** Maximum size of the memory map in bytes. Default 64 GiB (sparse). */
  readonly mapSize?: number;
}

const HEAD = 'head';
const ENTRY = 'entry';
const POSITION = 'position';
const CHECKPOINT = 'checkpoint';
const ID = 'id';
const EXPIRY = 'expiry';
const ACKED = 'acked';
/** Per source: the acknowledgement time of the newest entry that kept an event. */
const KEPT = 'kept';
/** Rejected events remembered by the hash of their text (it may be longer than a key can be). */
const REFUSED = 'refused';
/** In an expiry record, what marks a refused event's hash (ids are stored as they are). */
const REFUSED_TAG = '\u0000refused:';
const LAKE = 'lake';
/** An open claim of ids (see `claimIds`): its ids and when they expire, until settled. */
const CLAIM = 'claim';
/** Who made an open claim (its process tag), beside it so that listing claims reads no ids. */
const CLAIMER = 'claimer';

type StoredEntry = Omit<LogEntry, 'offset'>;

const textHash = (raw: string): string => createHash('sha256').update(raw).digest('base64');

/**
 * The durable log on LMDB (in-process, no server). Appends run in lmdb's batched write
 * transactions: appends issued together share one commit and one fsync (group commit), and
 * each resolves once its commit is on disk. The dedupe check, the offset, the entry, the ids
 * and the position are written in the same transaction, so a crash keeps all or none. Beside
 * each entry, its acknowledgement time (`acknowledged` reads it without the events), and the ids
 * it remembered under their expiry time, so `trim` visits only the ids that expired instead of
 * every id remembered.
 *
 * @example
 * const log = lmdbEventLog({ path: '.sluice/log' });
 * const { offset } = await log.append('payments', { ackTime: Date.now(), origin: 'push', events: ['{"id":"p1"}'], rejected: [] });
 */
export function lmdbEventLog(config: LmdbEventLogConfig): EventLog {
  environmentDirectory('event log', config.path);
  const path = resolve(config.path);
  const openDb = (): Database<unknown, Key> => openEnvironment('event log', { path: config.path, mapSize: config.mapSize ?? 64 * 1024 ** 3, compression: false });
  let db = openDb();
  const gate = swapGate();
  // A read takes a reader slot naming this process: a compaction elsewhere sees the log is open here.
  db.get([HEAD, '']);
  const horizon = config.dedupeHorizonMs ?? 7 * 86_400_000;
  const head = (source: string): number => (db.get([HEAD, source]) as number | undefined) ?? 0;
  /** Whether a source remembers event id `id` at `at` (within the horizon of the append or claim that stored it). */
  const isRemembered = (source: string, id: string, at: number): boolean => {
    const until = db.get([ID, source, id]) as number | undefined;
    return until !== undefined && until > at;
  };
  /** The expiry records of a source's entries, by entry offset. */
  const rememberedByOffset = (source: string): Map<number, { key: Key; list: string[] }> => {
    const records = new Map<number, { key: Key; list: string[] }>();
    for (const { key, value } of db.getRange({ start: [EXPIRY, source, 0], end: [EXPIRY, source, Number.MAX_SAFE_INTEGER] })) {
      records.set((key as [string, string, number, number])[3], { key, list: value as string[] });
    }
    return records;
  };
  /**
   * Forgets the ids (and refused texts' hashes) an entry remembered for the events removed from
   * it: its record lists the accepted events' ids first, in the entry's event order, then the
   * refused hashes. Call inside a write transaction.
   */
  const forgetRemembered = (source: string, record: { key: Key; list: string[] }, entry: StoredEntry, dropped: readonly boolean[], droppedRejected: readonly boolean[]): void => {
    const ids = record.list.filter((e) => !e.startsWith(REFUSED_TAG));
    if (ids.length !== entry.events.length) return;
    const gone = new Set(ids.filter((_, i) => dropped[i]));
    const refusedGone = new Set(entry.rejected.filter((_, i) => droppedRejected[i]).map((r) => `${REFUSED_TAG}${textHash(r.raw)}`));
    // An id accepted again by a later entry (after it expired) is remembered until that entry's expiry: keep it.
    const expiry = (record.key as [string, string, number, number])[2];
    for (const id of gone) if (db.get([ID, source, id]) === expiry) db.remove([ID, source, id]);
    for (const tagged of refusedGone) {
      const hash = tagged.slice(REFUSED_TAG.length);
      if (db.get([REFUSED, source, hash]) === expiry) db.remove([REFUSED, source, hash]);
    }
    const left = record.list.filter((e) => !gone.has(e) && !refusedGone.has(e));
    if (left.length === 0) db.remove(record.key);
    else void db.put(record.key, left);
  };
  return {
    async append(source, batch, staged) {
      await gate.pass();
      return db.transaction(() => {
        // Before any write: a refused append stores nothing.
        if (batch.after !== undefined) {
          const stored = (db.get([POSITION, source, batch.origin]) as string | undefined) ?? null;
          if (stored !== batch.after) throw positionMoved(source, batch.origin, stored, batch.after);
        }
        const offset = head(source) + 1;
        const duplicates: number[] = [];
        const repeated: number[] = [];
        let events = batch.events;
        let rejected = batch.rejected;
        if (batch.ids !== undefined) {
          const seen = new Set<string>();
          const kept: string[] = [];
          batch.ids.forEach((id, i) => {
            if (seen.has(id) || isRemembered(source, id, batch.ackTime)) duplicates.push(i);
            else {
              seen.add(id);
              kept.push(batch.events[i]!);
            }
          });
          events = kept;
          for (const id of seen) db.put([ID, source, id], batch.ackTime + horizon);
          const refused: string[] = [];
          rejected = batch.rejected.filter((r, i) => {
            const hash = textHash(r.raw);
            const until = db.get([REFUSED, source, hash]) as number | undefined;
            if (until !== undefined && until > batch.ackTime) {
              repeated.push(i);
              return false;
            }
            db.put([REFUSED, source, hash], batch.ackTime + horizon);
            refused.push(`${REFUSED_TAG}${hash}`);
            return true;
          });
          // What this entry remembers, by expiry, so trim visits only what has expired.
          const remembered = [...seen, ...refused];
          if (remembered.length > 0) db.put([EXPIRY, source, batch.ackTime + horizon, offset], remembered);
        }
        db.put([HEAD, source], offset);
        db.put([ENTRY, source, offset], { ackTime: batch.ackTime, origin: batch.origin, events, rejected } satisfies StoredEntry);
        db.put([ACKED, source, offset], batch.ackTime);
        if (events.length > 0) db.put([KEPT, source], batch.ackTime);
        if (batch.position !== undefined) db.put([POSITION, source, batch.origin], batch.position);
        staged?.({ offset, duplicates, repeated });
        return { offset, duplicates, repeated };
      });
    },
    read(source, after, limit) {
      const entries: LogEntry[] = [];
      for (const { key, value } of db.getRange({ start: [ENTRY, source, after + 1], end: [ENTRY, source, Number.MAX_SAFE_INTEGER], limit })) {
        entries.push({ offset: (key as [string, string, number])[2], ...(value as StoredEntry) });
      }
      return entries;
    },
    acknowledged(source, after, limit) {
      const acks: { offset: number; ackTime: number }[] = [];
      for (const { key, value } of db.getRange({ start: [ACKED, source, after + 1], end: [ACKED, source, Number.MAX_SAFE_INTEGER], limit })) {
        acks.push({ offset: (key as [string, string, number])[2], ackTime: value as number });
      }
      return acks;
    },
    head,
    lastKept(source) {
      const kept = db.get([KEPT, source]) as number | undefined;
      if (kept !== undefined) return kept;
      // A log written before the mark: the newest of its last entries that kept an event.
      for (const { value } of db.getRange({ start: [ENTRY, source, Number.MAX_SAFE_INTEGER], end: [ENTRY, source, 0], reverse: true, limit: 256 })) {
        if ((value as StoredEntry).events.length > 0) return (value as StoredEntry).ackTime;
      }
      return undefined;
    },
    position(source, origin) {
      return db.get([POSITION, source, origin]) as string | undefined;
    },
    checkpoint(consumer, source) {
      return (db.get([CHECKPOINT, consumer, source]) as number | undefined) ?? 0;
    },
    async setCheckpoint(consumer, source, offset) {
      await gate.pass();
      await db.put([CHECKPOINT, consumer, source], offset);
    },
    async trim(source, upTo, now) {
      await gate.pass();
      let removed = 0;
      await db.transaction(() => {
        for (const key of db.getKeys({ start: [ENTRY, source, 0], end: [ENTRY, source, upTo + 1] })) {
          db.remove(key);
          db.remove([ACKED, source, (key as [string, string, number])[2]]);
          removed++;
        }
        // An id accepted (or an event refused) again after it expired is remembered until its new expiry: keep it.
        for (const { key, value } of db.getRange({ start: [EXPIRY, source, 0], end: [EXPIRY, source, now + 1] })) {
          for (const entry of value as string[]) {
            const remembered = entry.startsWith(REFUSED_TAG) ? [REFUSED, source, entry.slice(REFUSED_TAG.length)] : [ID, source, entry];
            const until = db.get(remembered) as number | undefined;
            if (until !== undefined && until <= now) db.remove(remembered);
          }
          db.remove(key);
        }
      });
      return removed;
    },
    async recordLakeOffset(source, version, offset) {
      await gate.pass();
      await db.put([LAKE, source, version], offset);
    },
    lakeOffset(source, version) {
      for (const { value } of db.getRange({ start: [LAKE, source, version], end: [LAKE, source, -1], reverse: true, limit: 1 })) return value as number;
      return 0;
    },
    async removeEvents(source, drop) {
      await gate.pass();
      let events = 0;
      let bytes = 0;
      await db.transaction(() => {
        const remembered = rememberedByOffset(source);
        for (const { key, value } of db.getRange({ start: [ENTRY, source, 0], end: [ENTRY, source, Number.MAX_SAFE_INTEGER] })) {
          const entry = value as StoredEntry;
          const dropped = entry.events.map((text) => drop(text, false));
          const droppedRejected = entry.rejected.map((r) => drop(r.raw, true));
          const kept = entry.events.filter((_, i) => !dropped[i]);
          const keptRejected = entry.rejected.filter((_, i) => !droppedRejected[i]);
          const removed = entry.events.length - kept.length + entry.rejected.length - keptRejected.length;
          if (removed === 0) continue;
          events += removed;
          bytes += [...entry.events, ...entry.rejected.map((r) => r.raw)].reduce((n, t) => n + Buffer.byteLength(t), 0)
            - [...kept, ...keptRejected.map((r) => r.raw)].reduce((n, t) => n + Buffer.byteLength(t), 0);
          void db.put(key, { ...entry, events: kept, rejected: keptRejected } satisfies StoredEntry);
          const offset = (key as [string, string, number])[2];
          const record = remembered.get(offset);
          if (record !== undefined) forgetRemembered(source, record, entry, dropped, droppedRejected);
        }
      });
      return { events, bytes };
    },
    async forgetIds(source, ids) {
      await gate.pass();
      if (ids.length === 0) return 0;
      return db.transaction(() => {
        const forget = new Set(ids);
        let forgotten = 0;
        for (const id of forget) {
          if (db.get([ID, source, id]) === undefined) continue;
          db.remove([ID, source, id]);
          forgotten++;
        }
        for (const { key, value } of db.getRange({ start: [EXPIRY, source, 0], end: [EXPIRY, source, Number.MAX_SAFE_INTEGER] })) {
          const list = value as string[];
          const left = list.filter((entry) => !forget.has(entry));
          if (left.length === list.length) continue;
          if (left.length === 0) db.remove(key);
          else void db.put(key, left);
        }
        return forgotten;
      });
    },
    async claimIds(source, claim, ids, at, claimer) {
      await gate.pass();
      return db.transaction(() => {
        const duplicates: number[] = [];
        const seen = new Set<string>();
        ids.forEach((id, i) => {
          if (seen.has(id) || isRemembered(source, id, at)) duplicates.push(i);
          else seen.add(id);
        });
        const expiry = at + horizon;
        for (const id of seen) db.put([ID, source, id], expiry);
        // Remembered under its expiry like an entry's ids, so trim forgets them in time.
        if (seen.size > 0) db.put([EXPIRY, source, expiry, `${CLAIM}:${claim}`], [...seen]);
        db.put([CLAIM, source, claim], { expiry, ids: [...seen] });
        db.put([CLAIMER, source, claim], claimer);
        return duplicates;
      });
    },
    remembered(source, ids, at) {
      const found: number[] = [];
      ids.forEach((id, i) => {
        if (isRemembered(source, id, at)) found.push(i);
      });
      return found;
    },
    async settleClaim(source, claim, committed, claimer) {
      await gate.pass();
      await db.transaction(() => {
        const open = db.get([CLAIM, source, claim]) as { expiry: number; ids: string[] } | undefined;
        if (open === undefined) return;
        if (claimer !== undefined && db.get([CLAIMER, source, claim]) !== claimer) return;
        db.remove([CLAIM, source, claim]);
        db.remove([CLAIMER, source, claim]);
        if (committed) return;
        for (const id of open.ids) if (db.get([ID, source, id]) === open.expiry) db.remove([ID, source, id]);
        db.remove([EXPIRY, source, open.expiry, `${CLAIM}:${claim}`]);
      });
    },
    openClaims(source) {
      const claims: { claim: string; claimer: string | undefined }[] = [];
      for (const key of db.getKeys({ start: [CLAIM, source, ''], end: [CLAIM, source, '\uffff'] })) {
        const claim = (key as [string, string, string])[2];
        claims.push({ claim, claimer: db.get([CLAIMER, source, claim]) as string | undefined });
      }
      return claims;
    },
    async scrubFreed(): Promise<ScrubReport> {
      return gate.swap(async () => {
        const report = await compactEnvironment(path, db, () => db.close());
        if (report.compacted) {
          db = openDb();
          db.get([HEAD, '']);
        }
        return report;
      });
    },
    async close() {
      await gate.pass();
      await closeCompacting(path, db);
    },
  };
}
