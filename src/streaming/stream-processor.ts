import type { FeatureView, Project, Source } from '../definitions/index.js';
import { didYouMean } from '../definitions/index.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { AppendOutcome } from '../ingest/connectors/connector.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import type { EventLog, LogAppendResult, LogEntry } from '../storage/log/event-log.js';
import type { OnlineStore, ViewTableInfo } from '../storage/online/online-store.js';
import { applyToTable, decodedFor } from './apply-online.js';
import type { BatchVerdict } from '../quality/run-checks.js';
import { sourceViews, type DecodedEvents, type EventPart } from './decode-events.js';
import { ERASED_REASON, type ErasureCheck } from '../compliance/erasure/erased-rows.js';
import { StreamDecoder } from './stream-decoder.js';
import { answerGroup, OverloadedError, takeGroup, type GroupProgress, type GroupStage, type Waiting } from './stream-groups.js';
import { batchMemory, MemoryBudget, MEMORY_PER_BYTE } from './memory-budget.js';

export { OverloadedError, type GroupProgress, type GroupStage } from './stream-groups.js';

export interface StreamProcessorOptions {
  readonly project: () => Project;
  readonly log: EventLog;
  readonly online: OnlineStore;
  /** An engine for this processor alone (it uses fixed temporary tables). */
  readonly engine: SqlEngine;
  readonly now: () => number;
  /** Bytes of events waiting per source before appends are refused with `OVERLOADED` (back-pressure). Default 64 MiB. */
  readonly maxPendingBytes?: number;
  /**
   * The memory budget of batches being received, waiting and being processed, across all
   * sources (push and connectors alike), by their estimated cost (`batchMemory`): past it,
   * appends and reservations are refused with `OVERLOADED`. Default 320 MiB (see `MemoryBudget`).
   */
  readonly memoryBudget?: number;
  /** Called per view when an entry's events are visible online: its acknowledgement and visibility times. */
  readonly onVisible?: (view: string, ackTime: number, visibleAt: number) => void;
  /** Called per batch once it is answered: what became of its events (for metrics). */
  readonly onAppended?: (source: string, origin: string, outcome: AppendOutcome) => void;
  /** Called per group of a source with checks: every check's result on the group (for results, health and metrics). */
  readonly onChecked?: (verdict: BatchVerdict) => void;
  readonly warn?: (message: string) => void;
  /**
   * Called before a group of a source with event ids is judged: releases the id claims of file
   * ingests that died (see `releaseDeadClaims`), so their ids are not taken for duplicates.
   */
  readonly releaseDeadClaims?: (source: string) => Promise<void>;
  /**
   * Called once per view, log entry and online table (in this processor) whose events, accepted
   * when acknowledged, are refused when read again (`replay`): the runtime makes it the health
   * condition `replay_refused` (`view:<view>`), so it is visible, not a warning on every catch-up
   * (the warning is once per view and entry); a rebuilt table that refuses the entry again reports it again.
   * Called (and warned) once the table's update with the entry landed, never for an update that failed.
   */
  readonly onReplayRefused?: (refusal: ReplayRefusal) => void;
  /** The block list of erased subjects: their events are rejected as `erased` (absent: not checked). */
  readonly erasure?: ErasureCheck;
}

/** Events of a log entry that a view's replay refused (see `StreamProcessorOptions.onReplayRefused`). */
export interface ReplayRefusal {
  readonly view: string;
  readonly source: string;
  /** The log entry's offset. */
  readonly entry: number;
  /** The online table (`ViewTableInfo.generation`) that leaves the events out: a rebuilt table replays the entry again. */
  readonly generation: number;
  readonly events: number;
  /** The first refused event's reason. */
  readonly reason: string;
  /** The line the processor warned with. */
  readonly message: string;
}

/**
 * A group whose log entry is fixed (its offset and duplicates) and being made durable: `durable`
 * resolves once it is (rejects if the append failed). Nothing of it may be committed online before.
 */
interface StagedGroup {
  readonly project: Project;
  readonly source: Source;
  readonly group: readonly Waiting[];
  readonly ackTime: number;
  readonly decoded: DecodedEvents & { readonly counts: readonly (number | string)[] };
  readonly offset: number;
  readonly duplicates: readonly number[];
  /** Indices into `decoded.rejected` of repeated rejections (see `LogAppendResult.repeated`). */
  readonly repeated: readonly number[];
  readonly durable: Promise<void>;
}

/** A group's online updates, in log order: `commit` resolves once they are committed. */
interface IssuedUpdate {
  readonly commit: Promise<void>;
}

/**
 * The way in for streamed events (push, connectors): validates each batch, makes it durable in
 * the log, then applies it to the online state at once, so a value is fresh within one group
 * commit. Batches arriving while one is processed wait and go together (one decode, one log
 * commit, one online update), which is where throughput comes from. Per source, entries are
 * applied to each online table in log order, exactly once (the table records the last offset it
 * holds, in the same transaction as its states): a table that is behind (a fresh materialize, a
 * crash between log and online) catches up from the log first.
 */
/** Room held for a batch being received (see `StreamProcessor.reserve`). */
export interface Reservation {
  /** Holds `bytes` more (refused with an OverloadedError past the bound). */
  grow(bytes: number): void;
  /** Frees what is held; once, later calls do nothing. */
  release(): void;
}

export class StreamProcessor {
  private readonly queues = new Map<string, { waiting: Waiting[]; bytes: number; running: boolean; groups: Set<GroupProgress> }>();
  /** Per source, the batches being received and their bytes so far (see `reserve`). */
  private readonly arriving = new Map<string, { bytes: number; bodies: number }>();
  /** The memory held by batches from admission to answer, across all sources. */
  private readonly budget: MemoryBudget;
  private readonly decoder: StreamDecoder;
  /** Views and log entries whose refused replay was warned of (once), and the tables of each whose refusal was reported (`onReplayRefused`). */
  private readonly replayRefusals = new Set<string>();
  /** Per view and source: the offset of the last online update queued by this processor and not yet known to have failed, and its table. */
  private readonly queued = new Map<string, { generation: number; offset: number }>();

  constructor(private readonly options: StreamProcessorOptions) {
    this.decoder = new StreamDecoder(options.engine, options.erasure, (source, ids, at) => options.log.remembered(source, ids, at));
    this.budget = new MemoryBudget(options.memoryBudget);
  }

  /** The memory budget of batches (all sources): its limit, and what is held now and by how many batches. */
  memory(): { readonly limit: number; readonly bytes: number; readonly batches: number } {
    return { limit: this.budget.limit, ...this.budget.usage };
  }

  /** The source, or a NotFoundError (404) naming the sources that take events. */
  source(name: string): Source {
    const project = this.options.project();
    const source = project.sources.find((s) => s.name === name);
    if (!source) throw new NotFoundError('UNKNOWN_SOURCE', `source "${name}" is not in the registry${didYouMean(name, project.sources.map((s) => s.name))}`);
    return source;
  }

  /** Bytes of events waiting for a source. */
  pendingBytes(source: string): number {
    return this.queues.get(source)?.bytes ?? 0;
  }

  /** Bytes of batches being received for a source (reserved by `reserve`), and how many batches. */
  receiving(source: string): { readonly bytes: number; readonly bodies: number } {
    return this.arriving.get(source) ?? { bytes: 0, bodies: 0 };
  }

  /**
   * Reserves room for a batch about to be received (a push body): `bytes` (UTF-8) at once (its
   * Content-Length, before it is read), then `grow` as more arrives (a body without one), so
   * memory is bounded by the bound and not by how many bodies arrive at once. Both are refused
   * with an OverloadedError as `append` refuses. `release` once the batch is handed to `append`
   * (or will not be).
   */
  reserve(sourceName: string, bytes: number): Reservation {
    let charged = this.admit(sourceName, bytes, 0, 1);
    const held = this.arriving.get(sourceName) ?? { bytes: 0, bodies: 0 };
    held.bytes += bytes;
    held.bodies += 1;
    this.arriving.set(sourceName, held);
    let mine = bytes;
    let open = true;
    return {
      grow: (more) => {
        if (!open) return;
        charged += this.admit(sourceName, more, charged, 0);
        held.bytes += more;
        mine += more;
      },
      release: () => {
        if (!open) return;
        open = false;
        held.bytes -= mine;
        held.bodies -= 1;
        this.budget.free(charged);
        if (held.bodies === 0) this.arriving.delete(sourceName);
      },
    };
  }

  /**
   * The two bounds: bytes waiting and being received for a source, plus these, at most
   * `maxPendingBytes`; and the memory of every batch held, plus these bytes' (`batchMemory`), at
   * most the memory budget (a batch that alone costs more is refused as too large). Holds the
   * memory and returns it (`before`: what the batch holds already; `batches`: 1 for a new
   * batch, 0 for more of one).
   */
  private admit(sourceName: string, bytes: number, before: number, batches: 0 | 1): number {
    const waiting = this.pendingBytes(sourceName);
    const receiving = this.receiving(sourceName);
    const held = waiting + receiving.bytes;
    const max = this.options.maxPendingBytes ?? 64 * 1024 * 1024;
    if (held > 0 && held + bytes > max) {
      const bodies = receiving.bodies === 1 ? '1 body' : `${receiving.bodies} bodies`;
      throw new OverloadedError('OVERLOADED', `source "${sourceName}" has ${waiting} bytes of events waiting and ${receiving.bytes} bytes being received in ${bodies}, and ${bytes} more would pass its bound of ${max} bytes; retry after a second`);
    }
    const project = this.options.project();
    const source = project.sources.find((s) => s.name === sourceName);
    // A body for no source is read only to be answered 404: it costs the plain path's.
    const memory = source === undefined ? bytes * MEMORY_PER_BYTE.plain : batchMemory(project, source, bytes);
    this.budget.hold(sourceName, memory, before + memory, batches);
    return memory;
  }

  /**
   * Appends a batch of events to a source; resolves once they are durable (and applied online),
   * with what became of each. A push body that is not `{"events": [...]}` rejects with a
   * ValidationError; a source too far behind rejects with an OverloadedError. With `after` (the
   * origin's position the batch was read after, null for none) the append is conditional: a
   * ConflictError when the origin's position moved meanwhile (see `LogAppend.after`).
   */
  append(sourceName: string, part: EventPart, origin: string, position?: string, after?: string | null): Promise<AppendOutcome> {
    const source = this.source(sourceName);
    if (source.kind === 'transform') throw new ValidationError('VALIDATION_FAILED', `"${source.name}" is a transform: its table is written only by "sluice transform run ${source.name}"; push events to one of its inputs`);
    if (source.kind === undefined) throw new ValidationError('VALIDATION_FAILED', `source "${source.name}" is a batch source: it takes files ("sluice ingest"); declare it with streamSource() to push events`);
    const bytes = 'body' in part ? Buffer.byteLength(part.body) : part.texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
    const memory = this.admit(source.name, bytes, 0, 1);
    let queue = this.queues.get(source.name);
    if (!queue) this.queues.set(source.name, (queue = { waiting: [], bytes: 0, running: false, groups: new Set() }));
    queue.bytes += bytes;
    const done = new Promise<AppendOutcome>((resolve, reject) => queue.waiting.push({ part, origin, position, after, bytes, memory, resolve, reject }));
    if (!queue.running) void this.drain(source.name);
    return done;
  }

  /**
   * Processes a source's waiting batches group by group, pipelined: a group's online states are
   * made while its log entry is being flushed, and committed once it is durable (never before:
   * online state must not hold events the log may lose); a group is decoded and appended to the
   * log while the group before it is committed online; and a group's online update is issued as
   * soon as the one before it holds its states in its transaction, without waiting for that
   * one's commit and flush (they commit in order). Groups enter the log, and then the online
   * state, in log order; each group is answered once it is durable and its own online update has
   * committed. A group is acknowledged (its `ackTime` taken) only once the one before it is
   * durable, so the time from acknowledgement to visible is about one group's work.
   */
  private async drain(sourceName: string): Promise<void> {
    const queue = this.queues.get(sourceName)!;
    queue.running = true;
    /** Resolves once the previous group's online updates hold their states (or settled). */
    let queuedBefore: Promise<unknown> = Promise.resolve();
    const answering = new Set<Promise<void>>();
    try {
      while (queue.waiting.length > 0) {
        const { group, size } = takeGroup(queue.waiting);
        const progress: GroupProgress = { batches: group.length, since: Date.now(), stage: 'decoding', stageSince: Date.now() };
        const at = (stage: GroupStage) => {
          progress.stage = stage;
          progress.stageSince = Date.now();
        };
        queue.groups.add(progress);
        const staged = this.stage(sourceName, group, at);
        const before = queuedBefore;
        const issued = staged.then(async (entry) => {
          at('waiting for the previous group');
          await before;
          at('making online states');
          const update = await this.queueOnline(entry, at);
          at('committing online after the log is durable');
          return { entry, update };
        });
        queuedBefore = issued.catch(() => undefined);
        const answered = issued
          .then(async ({ entry, update }) => {
            // The online commits wait for the log; an update that waited for a failed append wrote nothing.
            await update.commit;
            await entry.durable;
            queue.groups.delete(progress);
            answerGroup(entry.source.name, entry.group, entry.decoded, entry, this.options.onAppended);
          })
          .catch((error: unknown) => {
            queue.groups.delete(progress);
            for (const w of group) w.reject(error);
          })
          .finally(() => {
            queue.bytes -= size;
            for (const w of group) this.budget.free(w.memory);
            answering.delete(answered);
          });
        answering.add(answered);
        const durable = await staged.then((entry) => entry.durable).then(() => true, () => false);
        // A failed append leaves its offset to the next group: its update must have given up first.
        if (!durable) await answered;
        await before;
        // Batches that arrive while the last groups become visible are taken by this loop.
        if (queue.waiting.length === 0) await Promise.all(answering);
      }
    } finally {
      queue.running = false;
    }
  }

  /** The oldest group of a source's batches being processed, and how long it and its stage have taken (ms). */
  oldestGroup(source: string, now = Date.now()): { batches: number; stage: GroupStage; forMs: number; stageForMs: number } | undefined {
    const oldest = this.queues.get(source)?.groups.values().next().value;
    return oldest && { batches: oldest.batches, stage: oldest.stage, forMs: now - oldest.since, stageForMs: now - oldest.stageSince };
  }

  /** Whether batches of a source are waiting or being processed (its groups then reach the online tables through this processor). */
  busy(source: string): boolean {
    const queue = this.queues.get(source);
    return queue !== undefined && (queue.running || queue.waiting.length > 0);
  }

  /** Resolves when no batch is waiting or being processed. */
  async drained(): Promise<void> {
    while ([...this.queues.values()].some((q) => q.running || q.waiting.length > 0)) await new Promise((r) => setTimeout(r, 5));
  }

  /**
   * Validates a group and appends it to the log; resolves once its entry's offset and
   * duplicates are fixed, with `durable` settling when the append does.
   */
  private async stage(sourceName: string, group: Waiting[], at: (stage: GroupStage) => void): Promise<StagedGroup> {
    const project = this.options.project();
    const source = project.sources.find((s) => s.name === sourceName)!;
    if (source.eventId !== undefined) await this.options.releaseDeadClaims?.(source.name);
    const ackTime = this.options.now();
    const views = sourceViews(project, source);
    const decoded = await this.decoder.decodeGroup(project, source, group.map((w) => w.part!), ackTime, views, at);
    // What is left of a push body is in `decoded`: its text need not wait for the answer.
    for (const w of group) w.part = undefined;
    if (decoded.checks) this.options.onChecked?.(decoded.checks);
    const position = group.at(-1)!.position;
    const after = group[0]!.after;
    let fixed!: (result: LogAppendResult) => void;
    const staged = new Promise<LogAppendResult>((resolve) => (fixed = resolve));
    at('appending to the log');
    const appended = this.options.log.append(source.name, {
      ackTime, origin: group[0]!.origin, events: decoded.raws, ...(decoded.ids ? { ids: decoded.ids } : {}), rejected: decoded.rejected, ...(position === undefined ? {} : { position }), ...(after === undefined ? {} : { after }),
    }, fixed);
    const durable = appended.then(() => undefined);
    durable.catch(() => undefined);
    const { offset, duplicates, repeated } = await Promise.race([staged, appended]);
    return { project, source, group, ackTime, decoded, offset, duplicates, repeated, durable };
  }

  /**
   * Queues a staged group's online updates, after those of the group before it (see `drain`);
   * resolves once they are queued. They commit only once the group is durable. A failure to
   * apply them is not a failed append (the events are durable: a retry would add them again): it
   * is reported, and the tables catch up from the log later.
   */
  private async queueOnline({ project, source, ackTime, decoded, offset, duplicates, durable }: StagedGroup, at: (stage: GroupStage) => void): Promise<IssuedUpdate> {
    const duplicate = new Set(duplicates);
    const keep = (r: number) => !duplicate.has(r);
    const commits: Promise<void>[] = [];
    // An update that gave up because the append failed is the append's failure, reported to its senders.
    const failed = (error: unknown) => void durable.then(() => this.options.warn?.(`source "${source.name}": log entry ${offset} is durable but applying it online failed (the online tables catch up from the log): ${(error as Error).message}`), () => undefined);
    for (const view of project.featureViews.filter((v) => v.source === source.name)) {
      const key = `${view.name}\u0000${source.name}`;
      let table: ViewTableInfo | undefined;
      try {
        table = await this.options.online.viewInfo(view.name);
      } catch (error) {
        failed(error);
        continue;
      }
      if (table === undefined) continue;
      const inFlight = this.queued.get(key);
      const applied = Math.max(table.applied?.[source.name] ?? 0, inFlight?.generation === table.generation ? inFlight.offset : 0);
      if (applied >= offset) continue;
      if (applied < offset - 1 || !decodedFor(decoded, table.definition)) {
        // Behind, or serving an older definition: the careful path, in order, before the next group, once the entry is durable.
        at('waiting for the log to be durable');
        const caughtUp = durable.then(() => (at('catching up online from the log'), this.applyOnline(project, source, offset, ackTime, decoded, keep, view))).catch(failed);
        await caughtUp;
        at('making online states');
        commits.push(caughtUp);
        continue;
      }
      // Applied only right after entry `offset - 1`: if an update queued before failed, this one waits for the catch-up.
      const generation = table.generation;
      const precondition = (info: ViewTableInfo) => (info.applied?.[source.name] ?? 0) === offset - 1;
      this.queued.set(key, { generation, offset });
      const forget = () => {
        if (this.queued.get(key)?.offset === offset) this.queued.delete(key);
      };
      let written!: () => void;
      const inTransaction = new Promise<void>((resolve) => (written = resolve));
      // The states are made while the entry is being flushed; committed once it is durable.
      at('making online states');
      const commit = applyToTable(this.options.online, table, source, decoded, ackTime, progressOf(source, offset, ackTime, keptAny(decoded, keep)), keep, { precondition, written, commitAfter: durable, made: () => at('waiting for the log to be durable') });
      // The next group's update may be issued once this one's states are in its transaction (or it settled without).
      await Promise.race([inTransaction, commit.catch(() => undefined)]);
      commits.push(
        commit.then(
          (after) => {
            if (after === undefined) forget();
            else this.options.onVisible?.(view.name, ackTime, Date.now());
          },
          (error: unknown) => {
            forget();
            failed(error);
          },
        ),
      );
    }
    return { commit: Promise.all(commits).then(() => undefined) };
  }

  /**
   * Applies entry `offset` to every served table of the source's views, after the entries a
   * table lacks before it (read back from the log).
   */
  async applyOnline(project: Project, source: Source, offset: number, ackTime: number, decoded: DecodedEvents | undefined, keep?: (row: number) => boolean, only?: FeatureView): Promise<void> {
    for (const view of project.featureViews.filter((v) => v.source === source.name && (only === undefined || v === only))) {
      let table = await this.options.online.viewInfo(view.name);
      if (table === undefined) continue;
      const applied = table.applied?.[source.name] ?? 0;
      if (applied >= offset) continue;
      if (applied < offset - 1) {
        const missing = this.options.log.read(source.name, applied, offset - 1 - applied);
        if (missing[0]?.offset !== applied + 1) {
          this.options.warn?.(`view "${view.name}": its online table holds log entries up to ${applied} of source "${source.name}", but the log no longer has ${applied + 1}; run "sluice materialize --views ${view.name}"`);
          continue;
        }
        for (const entry of missing) {
          const replayed = await this.replay(project, source, entry, table!);
          table = await applyToTable(this.options.online, table!, source, replayed.events, entry.ackTime, progressOf(source, entry.offset, entry.ackTime, entry.events.length > 0));
          if (table === undefined) break;
          this.replayApplied(replayed.refusal);
        }
        if (table === undefined) continue;
      }
      // A table may serve an older definition of the view (blue/green), with other row transforms.
      const entry = decoded !== undefined && decodedFor(decoded, table.definition) ? undefined : this.options.log.read(source.name, offset - 1, 1)[0]!;
      const replayed = entry === undefined ? { events: decoded!, refusal: undefined } : await this.replay(project, source, entry, table);
      const events = replayed.events;
      const after = await applyToTable(this.options.online, table, source, events, ackTime, progressOf(source, offset, ackTime, entry === undefined ? keptAny(decoded!, keep) : entry.events.length > 0), events === decoded ? keep : undefined);
      if (after !== undefined) this.replayApplied(replayed.refusal);
      // Freshness counts from the entry's own acknowledgement (a caller catching up passes "now").
      if (after !== undefined) this.options.onVisible?.(view.name, entry?.ackTime ?? ackTime, Date.now());
    }
  }

  /**
   * Decodes log entry `entry` again for `view`. Its events were accepted and replay as they were
   * (`decodeEvents` applies no rule of the way in again); one it refuses all the same (a reason
   * other than its subject's erasure) is left out of the online table, and said, never silently:
   * `refusal`, which {@link replayApplied} reports once the table's update with the entry lands.
   */
  private async replay(project: Project, source: Source, entry: LogEntry, table: ViewTableInfo): Promise<{ readonly events: DecodedEvents; readonly refusal: ReplayRefusal | undefined }> {
    const view = table.definition;
    const events = await this.decoder.decodeEntry(project, source, entry, view);
    const refused = events.rejected.filter((r) => r.reason !== ERASED_REASON);
    if (refused.length === 0) return { events, refusal: undefined };
    const message = `view "${view.name}": ${refused.length} event(s) of log entry ${entry.offset} of source "${source.name}", accepted when acknowledged, are refused when read again and left out of its online table (first: ${refused[0]!.reason}): the log holds events this version refuses, see "Replaying the log" in docs/real-time.md`;
    return { events, refusal: { view: view.name, source: source.name, entry: entry.offset, generation: table.generation, events: refused.length, reason: refused[0]!.reason, message } };
  }

  /**
   * Says a replay's refusal once the table's update with its entry landed, so a refusal is only
   * ever recorded for a table that leaves the events out: an update that failed is retried by a
   * replay that decides again (and may accept the events, the definitions fixed meanwhile).
   */
  private replayApplied(refusal: ReplayRefusal | undefined): void {
    if (refusal === undefined) return;
    const said = `${refusal.view}\u0000${refusal.source}\u0000${refusal.entry}`;
    const reported = `${said}\u0000${refusal.generation}`;
    if (this.replayRefusals.has(reported)) return;
    this.replayRefusals.add(reported);
    // Warned once per view and entry (every rebuild of the view reads the entry again); reported per table, which a rebuild ends.
    if (!this.replayRefusals.has(said)) this.options.warn?.(refusal.message);
    this.replayRefusals.add(said);
    this.options.onReplayRefused?.(refusal);
  }
}

/** Whether an entry's decoded events keep any (the rows `keep` says, all when absent). */
function keptAny(decoded: DecodedEvents, keep?: (row: number) => boolean): boolean {
  if (keep === undefined) return decoded.ts.length > 0;
  for (let r = 0; r < decoded.ts.length; r++) if (keep(r)) return true;
  return false;
}

/**
 * A table's progress after log entry `offset`: it holds the entry; its data time (`updatedAt`,
 * freshness) moves to the entry's acknowledgement only when the entry kept an event (an entry
 * whose every event was rejected or a duplicate is no new data: review rev10).
 */
function progressOf(source: Source, offset: number, ackTime: number, kept: boolean): { applied: Record<string, number>; updatedAt?: number } {
  return { applied: { [source.name]: offset }, ...(kept ? { updatedAt: ackTime } : {}) };
}
