import type { SluiceContext } from '../context.js';
import { isStreamed, type Project, type Source } from '../definitions/index.js';
import { ConflictError } from '../errors.js';
import { withLease } from '../orchestration/lease.js';
import { commitOrRemove, publishLakeFiles } from '../ingest/commit-ingest.js';
import { loadLogEntries } from '../ingest/log-entries.js';
import { literal, type SqlEngine } from '../storage/engine/sql-engine.js';
import type { EventLog, LogEntry } from '../storage/log/event-log.js';
import type { DeadLetter, Snapshot } from '../storage/metadata/metadata-store.js';
import type { OnlineStore } from '../storage/online/online-store.js';
import { PART } from './decode-events.js';
import { dropErasedRows, type ErasureCheck } from '../compliance/erasure/erased-rows.js';
import { markHeldSnapshot } from './reflected-snapshot.js';

export interface LakeCommitDeps {
  readonly ctx: Pick<SluiceContext, 'metadata' | 'lake' | 'now'>;
  readonly log: EventLog;
  readonly online: OnlineStore;
  /** Runs work on the stream engine, alone. */
  readonly exclusive: <T>(work: (engine: SqlEngine) => Promise<T>) => Promise<T>;
  /** The block list: events of a subject erased after they were acknowledged are not committed. */
  readonly erasure?: ErasureCheck;
}

export interface LakeCommit {
  readonly entries: number;
  readonly rows: number;
  readonly deadLetters: number;
  readonly snapshot?: Snapshot;
}

const LAKE = 'lake';
/** About how many bytes of events one micro-batch commits at most. */
const MAX_COMMIT_BYTES = 64 * 1024 * 1024;
const PENDING = 'lake-pending';

/**
 * Moves a source's durable log entries into the lake as one micro-batch: a Parquet file of their
 * events (each with `_known_at` = its acknowledgement time) and their dead letters, committed as
 * one snapshot. Exactly once: the entry range is fixed before the file is written and names the
 * commit's content, so a commit retried after a crash finds the earlier one instead of adding the
 * events again. Afterwards, online tables that hold those entries are marked as reflecting the
 * new snapshot, and log entries every consumer is past are trimmed.
 */
export async function commitLogToLake(deps: LakeCommitDeps, project: Project, source: Source, maxEntries = 10_000): Promise<LakeCommit> {
  const { ctx, log } = deps;
  if (log.head(source.name) <= log.checkpoint(LAKE, source.name)) return { entries: 0, rows: 0, deadLetters: 0 };
  // One committer per source at a time, in any process (two `sluice serve` on one project): two
  // would both write the pending range's file under one name.
  return withLease(ctx.metadata, `lake-commit:${source.name}`, { waitMs: 60_000, purpose: `the lake commit of source "${source.name}"` }, () => commitPending(deps, project, source, maxEntries));
}

/**
 * Commits a source's log entries up to its head as it is now (a range a crash left pending is
 * committed alone first, so this may take several commits). Resolves the commits made.
 *
 * @example
 * const commits = await commitLogUpToHead(deps, project, source);
 */
export async function commitLogUpToHead(deps: LakeCommitDeps, project: Project, source: Source): Promise<LakeCommit[]> {
  const target = deps.log.head(source.name);
  const commits: LakeCommit[] = [];
  let commit: LakeCommit;
  do {
    commit = await commitLogToLake(deps, project, source);
    commits.push(commit);
  } while (commit.entries > 0 && deps.log.checkpoint(LAKE, source.name) < target);
  return commits;
}

/**
 * Before a read of the lake that must hold every acknowledged event (a dataset build pins its
 * snapshots right after): commits the log entries of the streamed sources among `sources` that
 * are not in the lake yet (a server killed before its next commit leaves them only in the log;
 * online serves them already). The lake commit is exactly once, so committing here as well as in
 * a running server never doubles an event; a server committing at the same time is waited for.
 * When the entries cannot be committed, rejects with a ConflictError naming the source and how
 * many acknowledged entries the lake lacks, rather than let the read leave them out silently.
 *
 * @example
 * await commitAcknowledged(ctx, project, ['payments']); // then pin the latest snapshots
 */
export async function commitAcknowledged(ctx: SluiceContext, project: Project, sources: readonly string[]): Promise<void> {
  const streamed = project.sources.filter((s) => isStreamed(s) && sources.includes(s.name));
  if (streamed.length === 0) return;
  const log = await ctx.log();
  const behind = streamed.filter((s) => log.head(s.name) > log.checkpoint(LAKE, s.name));
  if (behind.length === 0) return;
  const online = await ctx.online();
  const engine = await ctx.engine();
  const deps: LakeCommitDeps = { ctx, log, online, exclusive: (work) => work(engine), erasure: { erasure: ctx.metadata.erasure, dataDir: ctx.dataDir } };
  for (const source of behind) {
    try {
      await commitLogUpToHead(deps, project, source);
    } catch (error) {
      const lag = log.head(source.name) - log.checkpoint(LAKE, source.name);
      throw new ConflictError('CONFLICT', `source "${source.name}": ${lag} acknowledged log entries are not in the lake yet and committing them failed (${(error as Error).message}); a dataset read now would leave their events out: run it again once the lake commit can run`, {
        cause: error, details: { source: source.name, entriesNotInLake: lag },
      });
    }
  }
}

async function commitPending(deps: LakeCommitDeps, project: Project, source: Source, maxEntries: number): Promise<LakeCommit> {
  const { ctx, log } = deps;
  const done = log.checkpoint(LAKE, source.name);
  let to = log.checkpoint(PENDING, source.name);
  let entries: LogEntry[];
  if (to > done) entries = log.read(source.name, done, to - done);
  else {
    // A micro-batch holds up to `maxEntries` entries and about MAX_COMMIT_BYTES of events, so a
    // backlog (a lake that could not be written for a while) is committed in bounded pieces.
    entries = [];
    let bytes = 0;
    while (entries.length < maxEntries && bytes < MAX_COMMIT_BYTES) {
      const page = log.read(source.name, entries.at(-1)?.offset ?? done, Math.min(100, maxEntries - entries.length));
      if (page.length === 0) break;
      for (const entry of page) {
        entries.push(entry);
        bytes += entry.events.reduce((n, e) => n + e.length, 0);
        if (bytes >= MAX_COMMIT_BYTES) break;
      }
    }
    if (entries.length === 0) return { entries: 0, rows: 0, deadLetters: 0 };
    to = entries.at(-1)!.offset;
    await log.setCheckpoint(PENDING, source.name, to);
  }
  const contentHash = `stream:${source.name}:${done + 1}-${to}`;
  const deadLetters: DeadLetter[] = entries.flatMap((e) => e.rejected.map((r) => ({ source: source.name, file: `${e.origin} (log entry ${e.offset}${r.at === undefined ? '' : `, ${r.at}`})`, line: (r.index % PART) + 1, raw: r.raw, reason: r.reason, createdAt: e.ackTime })));
  const rows = entries.reduce((n, e) => n + e.events.length, 0);
  // A commit retried after a crash that came after its snapshot: the snapshot is there, and its
  // file has the name a new attempt would publish (and then remove as a duplicate).
  const earlier = await ctx.metadata.findIngest(source.name, contentHash);
  let outcome: { committed: boolean; snapshot: Snapshot } | undefined = earlier ? { committed: false, snapshot: earlier } : undefined;
  if (!earlier && rows > 0) {
    // Read before the check: a subject blocked after it fails the commit (CONFLICT; the next commit retries), never lands it.
    const blockListVersion = deps.erasure ? await deps.erasure.erasure.blockListVersion() : undefined;
    const { published, erased } = await deps.exclusive(async (engine) => {
      await loadLogEntries(engine, source, entries, 'stream_commit', await ctx.metadata.reserveSeq(source.name, rows));
      const erased = deps.erasure ? await dropErasedRows(engine, 'stream_commit', project, source, deps.erasure) : 0;
      const staged = ctx.lake.stagingPath(source.name);
      try {
        await engine.run(`COPY (SELECT * FROM stream_commit ORDER BY _seq) TO ${literal(staged)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
        await engine.run('DROP TABLE stream_commit');
        return { published: await publishLakeFiles(ctx as SluiceContext, engine, project, source, staged, rows - erased, `log${done + 1}-${to}`), erased };
      } finally {
        await ctx.lake.discard(staged);
      }
    });
    outcome = await commitOrRemove(ctx as SluiceContext, published, () => ctx.metadata.commitIngest({ source: source.name, addedFiles: published, addedRows: rows - erased, contentHash, createdAt: ctx.now(), ...(blockListVersion === undefined ? {} : { blockListVersion }) }, deadLetters));
  } else if (!earlier && deadLetters.length > 0) {
    outcome = await ctx.metadata.commitIngest({ source: source.name, addedFiles: [], addedRows: 0, contentHash, createdAt: ctx.now() }, deadLetters);
  }
  if (outcome) await log.recordLakeOffset(source.name, outcome.snapshot.version, to);
  await log.setCheckpoint(LAKE, source.name, to);
  if (outcome) await markReflected(deps, project, source, outcome.snapshot);
  await trimLog(deps, project, source, to);
  return { entries: entries.length, rows, deadLetters: deadLetters.length, ...(outcome ? { snapshot: outcome.snapshot } : {}) };
}

/** Tables that hold every log entry up to the new snapshot now reflect it, however many commits their marker is behind (see `holdsSnapshot`). */
async function markReflected(deps: LakeCommitDeps, project: Project, source: Source, snapshot: Snapshot): Promise<void> {
  for (const view of project.featureViews.filter((v) => v.source === source.name)) await markHeldSnapshot(deps.ctx.metadata, deps.online, view.name, source.name, snapshot);
}

/**
 * Drops log entries that the lake and every served table of the source's views hold, and that
 * are older than `LOG_KEEP_MS`: a materialize in progress pinned an earlier snapshot, and its
 * table replays the entries after it once switched in.
 */
async function trimLog(deps: LakeCommitDeps, project: Project, source: Source, committed: number): Promise<void> {
  let upTo = committed;
  for (const view of project.featureViews.filter((v) => v.source === source.name)) {
    const table = await deps.online.viewInfo(view.name);
    if (table !== undefined) upTo = Math.min(upTo, table.applied?.[source.name] ?? 0);
  }
  const now = deps.ctx.now();
  const keepFrom = now - LOG_KEEP_MS;
  let bound = 0;
  for (const entry of deps.log.acknowledged(source.name, 0, 1_000)) {
    if (entry.offset > upTo || entry.ackTime >= keepFrom) break;
    bound = entry.offset;
  }
  await deps.log.trim(source.name, bound, now);
}

/** How long log entries are kept after the lake and the online tables hold them. */
export const LOG_KEEP_MS = 3_600_000;
