import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, type Database, type Key } from 'lmdb';
import type { EventLog, LogEntry } from '../event-log.js';

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
/** Rejected events remembered by the hash of their text (it may be longer than a key can be). */
const REFUSED = 'refused';
const LAKE = 'lake';

type StoredEntry = Omit<LogEntry, 'offset'>;

const textHash = (raw: string): string => createHash('sha256').update(raw).digest('base64');

/**
 * The durable log on LMDB (in-process, no server). Appends run in lmdb's batched write
 * transactions: appends issued together share one commit and one fsync (group commit), and
 * each resolves once its commit is on disk. The dedupe check, the offset, the entry, the ids
 * and the position are written in the same transaction, so a crash keeps all or none.
 *
 * @example
 * const log = lmdbEventLog({ path: '.sluice/log' });
 * const { offset } = await log.append('payments', { ackTime: Date.now(), origin: 'push', events: ['{"id":"p1"}'], rejected: [] });
 */
export function lmdbEventLog(config: LmdbEventLogConfig): EventLog {
  mkdirSync(config.path, { recursive: true });
  const db: Database<unknown, Key> = open({ path: config.path, mapSize: config.mapSize ?? 64 * 1024 ** 3, compression: false });
  const horizon = config.dedupeHorizonMs ?? 7 * 86_400_000;
  const head = (source: string): number => (db.get([HEAD, source]) as number | undefined) ?? 0;
  return {
    async append(source, batch) {
      return db.transaction(() => {
        const duplicates: number[] = [];
        let events = batch.events;
        let rejected = batch.rejected;
        if (batch.ids !== undefined) {
          const seen = new Set<string>();
          const kept: string[] = [];
          batch.ids.forEach((id, i) => {
            const until = db.get([ID, source, id]) as number | undefined;
            if (seen.has(id) || (until !== undefined && until > batch.ackTime)) duplicates.push(i);
            else {
              seen.add(id);
              kept.push(batch.events[i]!);
            }
          });
          events = kept;
          for (const id of seen) db.put([ID, source, id], batch.ackTime + horizon);
          rejected = batch.rejected.filter((r) => {
            const key = [REFUSED, source, textHash(r.raw)];
            const until = db.get(key) as number | undefined;
            if (until !== undefined && until > batch.ackTime) return false;
            db.put(key, batch.ackTime + horizon);
            return true;
          });
        }
        const offset = head(source) + 1;
        db.put([HEAD, source], offset);
        db.put([ENTRY, source, offset], { ackTime: batch.ackTime, origin: batch.origin, events, rejected } satisfies StoredEntry);
        if (batch.position !== undefined) db.put([POSITION, source, batch.origin], batch.position);
        return { offset, duplicates };
      });
    },
    read(source, after, limit) {
      const entries: LogEntry[] = [];
      for (const { key, value } of db.getRange({ start: [ENTRY, source, after + 1], end: [ENTRY, source, Number.MAX_SAFE_INTEGER], limit })) {
        entries.push({ offset: (key as [string, string, number])[2], ...(value as StoredEntry) });
      }
      return entries;
    },
    head,
    position(source, origin) {
      return db.get([POSITION, source, origin]) as string | undefined;
    },
    checkpoint(consumer, source) {
      return (db.get([CHECKPOINT, consumer, source]) as number | undefined) ?? 0;
    },
    async setCheckpoint(consumer, source, offset) {
      await db.put([CHECKPOINT, consumer, source], offset);
    },
    async trim(source, upTo, now) {
      let removed = 0;
      await db.transaction(() => {
        for (const key of db.getKeys({ start: [ENTRY, source, 0], end: [ENTRY, source, upTo + 1] })) {
          db.remove(key);
          removed++;
        }
        for (const prefix of [ID, REFUSED]) {
          for (const { key, value } of db.getRange({ start: [prefix, source], end: [prefix, `${source}\u0000`] })) {
            if ((value as number) <= now) db.remove(key);
          }
        }
      });
      return removed;
    },
    async recordLakeOffset(source, version, offset) {
      await db.put([LAKE, source, version], offset);
    },
    lakeOffset(source, version) {
      for (const { value } of db.getRange({ start: [LAKE, source, version], end: [LAKE, source, -1], reverse: true, limit: 1 })) return value as number;
      return 0;
    },
    async close() {
      await db.close();
    },
  };
}
