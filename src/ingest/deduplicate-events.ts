import type { Source } from '../definitions/index.js';
import { isStreamed } from '../definitions/index.js';
import { ident, type SqlEngine, readPathList } from '../storage/engine/sql-engine.js';
import type { EventLog } from '../storage/log/event-log.js';
import { testPause } from '../orchestration/test-pause.js';
import { ownProcessTag, processOfTag, processStillRuns } from '../orchestration/process-identity.js';
import { parsedValueSql } from './validate-sql.js';

/** What a source has seen besides the rows being ingested: its committed lake files and, for a streamed source, its log's memory of ids. */
export interface SeenEvents {
  readonly lakeFiles: readonly string[];
  /** The source's durable log (stream and CDC sources): ids pushed or streamed within the dedupe horizon, committed to the lake or not yet. */
  readonly log?: EventLog;
  /** Names the claim of this batch's ids in the log: the content hash its commit records. */
  readonly claim: string;
  /** Whether a commit of content `claim` is in the metadata store (settles a claim a crash left open). */
  readonly committed: (claim: string) => Promise<boolean>;
  readonly now: number;
}

/**
 * Removes from `table` (checked input rows: `_n`, `_reason`, text columns) the valid rows whose
 * event id the source has seen, or that repeat an earlier row of the same input, so each event
 * is stored once however often it is exported, ingested or pushed. Seen means: in the
 * committed lake files, or (streamed sources) remembered by the log, which holds the ids of
 * pushed and streamed events not yet in the lake. The kept rows' ids are claimed in the log in
 * the same transaction as that check (`EventLog.claimIds`), so a push of one of them afterwards
 * is a duplicate; the caller calls `settle` with whether its commit landed. A claim that a
 * crash left open is settled first, by whether its commit is in the metadata store. The caller
 * holds the source's ingest lease. Without an `eventId`, removes nothing.
 *
 * @example
 * const { removed, settle } = await removeDuplicateEvents(engine, source, 'ingest_checked', seen);
 * try { committed = (await commit()).committed; } finally { await settle(committed); }
 */
export async function removeDuplicateEvents(engine: SqlEngine, source: Source, table: string, seen: SeenEvents): Promise<{ readonly removed: number; settle(committed: boolean): Promise<void> }> {
  const none = { removed: 0, settle: async () => undefined };
  if (source.eventId === undefined) return none;
  const column = ident(source.eventId);
  const id = parsedValueSql(source.eventId, source.schema[source.eventId]!);
  const inLake = seen.lakeFiles.length === 0 ? 'FALSE' : `_id IN (SELECT ${column} FROM read_parquet(${readPathList(seen.lakeFiles)}, union_by_name = true))`;
  await engine.run(`CREATE OR REPLACE TEMP TABLE ingest_duplicates AS
    SELECT _n FROM (SELECT _n, _id, row_number() OVER (PARTITION BY _id ORDER BY _n) AS _k FROM (SELECT _n, ${id} AS _id FROM ${table} WHERE _reason = ''))
    WHERE _k > 1 OR ${inLake}`);
  await engine.run(`DELETE FROM ${table} WHERE _n IN (SELECT _n FROM ingest_duplicates)`);
  const [{ n }] = (await engine.all<{ n: number }>('SELECT count(*)::BIGINT AS n FROM ingest_duplicates')) as [{ n: number }];
  await engine.run('DROP TABLE ingest_duplicates');
  const log = seen.log;
  if (log === undefined || !isStreamed(source)) return { ...none, removed: Number(n) };
  for (const open of log.openClaims(source.name)) await log.settleClaim(source.name, open.claim, await seen.committed(open.claim));
  // Ids as the log remembers them: the text of the typed value, as decoding a pushed event gives it.
  // Read column by column (a row object per row had cost about 1.8 µs of the claim's 4.8 per row).
  const ids: string[] = [];
  const ns: number[] = [];
  for await (const chunk of engine.streamChunks(`SELECT _n::DOUBLE AS n, CAST(${id} AS VARCHAR) AS id FROM ${table} WHERE _reason = '' ORDER BY _n`)) {
    const n = chunk.column(0);
    const text = chunk.column(1);
    for (let r = 0; r < chunk.rowCount; r++) {
      ns.push(n.get(r) as number);
      ids.push(text.get(r) as string);
    }
  }
  const duplicates = await log.claimIds(source.name, seen.claim, ids, seen.now, ownProcessTag());
  await testPause('ingest.ids-claimed');
  if (duplicates.length > 0) {
    await engine.run('CREATE OR REPLACE TEMP TABLE ingest_duplicates (_n DOUBLE)');
    await engine.appendColumns('ingest_duplicates', [{ type: 'double', values: Float64Array.from(duplicates, (i) => ns[i]!) }]);
    await engine.run(`DELETE FROM ${table} WHERE _n IN (SELECT _n FROM ingest_duplicates); DROP TABLE ingest_duplicates`);
  }
  return { removed: Number(n) + duplicates.length, settle: (committed) => log.settleClaim(source.name, seen.claim, committed) };
}

/**
 * Settles the open claims of a source whose claimer (the process that made them) no longer runs:
 * an ingest killed between its claim and its settle. Its ids stay remembered only if its commit
 * landed (`committed`, as the next ingest would settle it), so a push of one of them is accepted
 * when the file's events are stored nowhere. A live claimer's claims are left alone, and one
 * claimed again meanwhile by another process is not touched (`settleClaim` checks the claimer).
 * Costs one range read of the log when no claim is open: the way in calls it before judging a
 * batch's ids.
 *
 * @example
 * await releaseDeadClaims(log, 'payments', async (claim) => (await metadata.findIngest('payments', claim)) !== undefined);
 */
export async function releaseDeadClaims(log: EventLog, source: string, committed: (claim: string) => Promise<boolean>): Promise<void> {
  for (const { claim, claimer } of log.openClaims(source)) {
    const holder = claimer === undefined ? undefined : processOfTag(claimer);
    if (holder === undefined || processStillRuns(holder)) continue;
    await log.settleClaim(source, claim, await committed(claim), claimer);
  }
}
