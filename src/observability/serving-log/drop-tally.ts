import { appendDropRecords, type DropRecord } from './serving-log-drops.js';

/** One episode of dropped rows: from the first drop until every service that dropped rows writes again (see `DropTally`). */
export interface ServingLogDropState {
  readonly dropping: boolean;
  /** Rows dropped in the episode: buffer full plus failed writes. */
  readonly rows: number;
  readonly bufferFull: number;
  readonly writeFailed: number;
  /** `servedAt` (epoch ms) of the first request with a dropped row; null when nothing was dropped. */
  readonly since: number | null;
  /** The last failed write's error message. */
  readonly lastError?: string;
  readonly services: readonly string[];
  /**
   * With `dropping: false`, what ended it: `written` (a flush wrote rows with none dropped, and
   * every service whose writes failed has written again), `stopped` (the writer closed with nothing dropped since its last
   * flush that dropped none), `started` (a writer started: a condition left by an earlier process ends).
   */
  readonly ended?: 'written' | 'stopped' | 'started';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Records of one service held while its appends fail; past it they are merged into one (see `merged`). */
const MAX_HELD = 100;

/**
 * One record covering `records` (counts summed, from the earliest `from` to the latest `to`, the
 * last error): memory stays bounded while a service's appends keep failing, and no dropped row
 * goes uncounted; a reader of a period that cuts it counts it whole, as it does any record.
 */
function merged(records: readonly DropRecord[]): DropRecord {
  let error: string | undefined;
  const views = new Map<string, readonly string[]>();
  for (const r of records) {
    if (r.error !== undefined) error = r.error;
    addViews(views, r.views ?? []);
  }
  return {
    service: records[0]!.service,
    from: Math.min(...records.map((r) => r.from)),
    to: Math.max(...records.map((r) => r.to)),
    bufferFull: records.reduce((n, r) => n + r.bufferFull, 0),
    writeFailed: records.reduce((n, r) => n + r.writeFailed, 0),
    ...(error === undefined ? {} : { error }),
    views: [...views.values()],
  };
}

/** Adds the lists of `lists` not yet in `into` (keyed by their names). */
function addViews(into: Map<string, readonly string[]>, lists: readonly (readonly string[])[]): void {
  for (const list of lists) {
    const key = list.join('\n');
    if (!into.has(key)) into.set(key, list);
  }
}

/** A service's drops counted since the last settle; its `views` become the record's lists. */
type Tally = Mutable<Omit<DropRecord, 'views'>> & { readonly views: Map<string, readonly string[]> };
type Episode = Mutable<Omit<ServingLogDropState, 'dropping' | 'services' | 'since' | 'ended'>> & {
  since: number;
  services: Set<string>;
  /** The services whose writes failed and have not written rows since without dropping: the episode ends when none is left. */
  open: Set<string>;
};

/**
 * The serving log writer's count of the rows it dropped. `add` is cheap (a request that drops
 * rows calls it once); `settle`, after each flush, moves the counts to the drops records
 * (`serving-log-drops.ts`; a service whose append fails keeps its records for the next flush,
 * at most `MAX_HELD` of them, the others' are written once) and the episode it reports to `onDrops`: after each flush with
 * drops (`dropping: true`, the episode so far); after the flush that ends it: one that writes rows
 * with none dropped, once every service whose writes failed in the episode has written rows again
 * (`dropping: false`, `ended: 'written'`, its totals; one service writing does not end another's
 * failures, while a full buffer, shared by all services, ends with any such flush). `start` reports `ended:
 * 'started'` (a condition left by an earlier process, which may have died, ends); `stop`, on
 * close, ends an open episode (`ended: 'stopped'`) unless the last flush dropped rows, which
 * then stay reported until a writer starts again.
 */
export class DropTally {
  private tallies = new Map<string, Tally>();
  private unrecorded = new Map<string, DropRecord[]>();
  private episode: Episode | undefined;
  private lastSettleDropped = false;

  constructor(
    private readonly dataDir: string,
    private readonly hooks: { readonly onDrops?: (state: ServingLogDropState) => void; readonly onError?: (error: unknown) => void },
  ) {}

  /**
   * Counts `n` rows of `service` dropped, of requests served in `[from, to]` that answered `views`
   * (one list per distinct list of views of those requests): buffer full, or, with `error`, a failed append.
   */
  add(service: string, n: number, from: number, to: number, views: readonly (readonly string[])[], error?: unknown): void {
    let tally = this.tallies.get(service);
    if (tally === undefined) this.tallies.set(service, (tally = { service, from, to, bufferFull: 0, writeFailed: 0, views: new Map() }));
    if (from < tally.from) tally.from = from;
    if (to > tally.to) tally.to = to;
    addViews(tally.views, views);
    if (error === undefined) tally.bufferFull += n;
    else {
      tally.writeFailed += n;
      tally.error = error instanceof Error ? error.message : String(error);
    }
  }

  /** Whether drops are counted that `settle` has not yet recorded. */
  get unsettled(): boolean {
    return this.tallies.size > 0 || this.unrecorded.size > 0;
  }

  /** A writer starts: see the class comment. */
  start(): void {
    this.hooks.onDrops?.({ dropping: false, rows: 0, bufferFull: 0, writeFailed: 0, since: null, services: [], ended: 'started' });
  }

  /** After a flush (`wrote`: the services it appended rows of): see the class comment. */
  async settle(wrote: ReadonlySet<string>): Promise<void> {
    const settled: DropRecord[] = [...this.tallies.values()].map((t) => ({ ...t, views: [...t.views.values()] }));
    this.tallies = new Map();
    for (const t of settled) {
      const e = (this.episode ??= { rows: 0, bufferFull: 0, writeFailed: 0, since: t.from, services: new Set(), open: new Set() });
      e.rows += t.bufferFull + t.writeFailed;
      e.bufferFull += t.bufferFull;
      e.writeFailed += t.writeFailed;
      e.since = Math.min(e.since, t.from);
      if (t.error !== undefined) e.lastError = t.error;
      e.services.add(t.service);
      // A full buffer is the writer's (shared by every service): any flush that writes with none dropped
      // shows it has room again. A failed write is of its service's file: only that service's write shows it works.
      if (t.writeFailed > 0) e.open.add(t.service);
      const held = [...(this.unrecorded.get(t.service) ?? []), t];
      this.unrecorded.set(t.service, held.length > MAX_HELD ? [merged(held)] : held);
    }
    const dropped = new Set(settled.map((t) => t.service));
    for (const service of wrote) if (!dropped.has(service)) this.episode?.open.delete(service);
    for (const [service, records] of this.unrecorded) {
      try {
        await appendDropRecords(this.dataDir, records);
        this.unrecorded.delete(service);
      } catch (error) {
        this.hooks.onError?.(error);
      }
    }
    this.lastSettleDropped = settled.length > 0;
    const e = this.episode;
    if (e === undefined) return;
    if (settled.length > 0) this.report(e, true);
    else if (wrote.size > 0 && e.open.size === 0) this.end(e, 'written');
  }

  /** The writer closes, after its last flush: see the class comment. */
  stop(): void {
    if (this.episode !== undefined && !this.lastSettleDropped) this.end(this.episode, 'stopped');
  }

  private end(e: Episode, ended: 'written' | 'stopped'): void {
    this.report(e, false, ended);
    this.episode = undefined;
  }

  private report(e: Episode, dropping: boolean, ended?: 'written' | 'stopped'): void {
    const { open: _open, services, ...counts } = e;
    this.hooks.onDrops?.({ ...counts, dropping, services: [...services], ...(ended === undefined ? {} : { ended }) });
  }
}
