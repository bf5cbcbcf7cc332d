import { appendDropRecords, type DropRecord } from './serving-log-drops.js';

/** One episode of dropped rows: from the first drop until a flush writes rows again with none dropped (see `DropTally`). */
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
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The serving log writer's count of the rows it dropped. `add` is cheap (a request that drops
 * rows calls it once); `settle`, after each flush, moves the counts to the drops records (`serving-log-drops.ts`; a failed
 * append keeps them for the next flush) and the episode it reports to `onDrops`: after each
 * flush with drops (`dropping: true`, the episode so far); after the flush that ends it (rows
 * written, none dropped since the flush before: `dropping: false` with its totals); and after
 * the first flush that writes rows without drops (`dropping: false`, `rows: 0`), so a state left
 * by an earlier process ends.
 */
export class DropTally {
  private tallies = new Map<string, Mutable<DropRecord>>();
  private unrecorded: DropRecord[] = [];
  private episode: (Mutable<Omit<ServingLogDropState, 'dropping' | 'services' | 'since'>> & { since: number; services: Set<string> }) | undefined;
  private clearedOnce = false;

  constructor(
    private readonly dataDir: string,
    private readonly hooks: { readonly onDrops?: (state: ServingLogDropState) => void; readonly onError?: (error: unknown) => void },
  ) {}

  /** Counts `n` rows of `service` dropped, of requests served in `[from, to]`: buffer full, or, with `error`, a failed append. */
  add(service: string, n: number, from: number, to: number, error?: unknown): void {
    let tally = this.tallies.get(service);
    if (tally === undefined) this.tallies.set(service, (tally = { service, from, to, bufferFull: 0, writeFailed: 0 }));
    if (from < tally.from) tally.from = from;
    if (to > tally.to) tally.to = to;
    if (error === undefined) tally.bufferFull += n;
    else {
      tally.writeFailed += n;
      tally.error = error instanceof Error ? error.message : String(error);
    }
  }

  /** Whether drops are counted that `settle` has not yet recorded. */
  get unsettled(): boolean {
    return this.tallies.size > 0 || this.unrecorded.length > 0;
  }

  /** After a flush (`wrote`: it appended rows): see the class comment. */
  async settle(wrote: boolean): Promise<void> {
    const settled = [...this.tallies.values()];
    this.tallies = new Map();
    for (const t of settled) {
      const e = (this.episode ??= { rows: 0, bufferFull: 0, writeFailed: 0, since: t.from, services: new Set() });
      e.rows += t.bufferFull + t.writeFailed;
      e.bufferFull += t.bufferFull;
      e.writeFailed += t.writeFailed;
      e.since = Math.min(e.since, t.from);
      if (t.error !== undefined) e.lastError = t.error;
      e.services.add(t.service);
    }
    this.unrecorded.push(...settled);
    if (this.unrecorded.length > 0) {
      try {
        await appendDropRecords(this.dataDir, this.unrecorded);
        this.unrecorded = [];
      } catch (error) {
        this.hooks.onError?.(error);
      }
    }
    const e = this.episode;
    if (settled.length > 0 && e !== undefined) this.hooks.onDrops?.({ ...e, dropping: true, services: [...e.services] });
    else if (wrote && e !== undefined) {
      this.hooks.onDrops?.({ ...e, dropping: false, services: [...e.services] });
      this.episode = undefined;
      this.clearedOnce = true;
    } else if (wrote && !this.clearedOnce) {
      this.hooks.onDrops?.({ dropping: false, rows: 0, bufferFull: 0, writeFailed: 0, since: null, services: [] });
      this.clearedOnce = true;
    }
  }
}
