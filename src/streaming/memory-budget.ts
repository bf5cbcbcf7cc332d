import type { Project, Source } from '../definitions/index.js';
import { ValidationError } from '../errors.js';
import { OverloadedError } from './stream-groups.js';
import { sourceViews } from './decode-events.js';
import { plainDecodable } from './decode-plain.js';

/**
 * The default memory budget of a stream processor's batches (push bodies and connector batches,
 * across all sources): 320 MiB, sized so that `sluice serve` (about 140 MiB resident before any
 * push) stays under 512 MiB resident with the default limits (a batch of 13 MiB of events, the
 * most this budget takes on the plain path, peaked at about 460 MiB). See {@link MemoryBudget}.
 */
export const DEFAULT_MEMORY_BUDGET = 320 * 1024 * 1024;

/**
 * Memory a batch costs per byte of its events while it is received, decoded and appended, on
 * each decoding path: the peak resident memory of `sluice serve` above its resting size, per
 * byte of one push body of 8 to 27 MiB (`node bench/push-memory.js`, see BENCHMARKS.md, "Push
 * memory"; 17-23 on the plain path, 35-41 in DuckDB), with some margin: the body's bytes and
 * text, its parsed events, the texts of the accepted events and their columns, the log entry's
 * encoding, and the garbage the collector has not yet returned. In DuckDB, extracting the
 * events of a body as JSON costs about twice the plain path's.
 */
export const MEMORY_PER_BYTE = { plain: 24, engine: 48 } as const;

/** Memory a batch of `bytes` (UTF-8) of a source's events costs (see {@link MEMORY_PER_BYTE}). */
export function batchMemory(project: Project, source: Source, bytes: number): number {
  return bytes * (plainDecodable(project, source, sourceViews(project, source)) ? MEMORY_PER_BYTE.plain : MEMORY_PER_BYTE.engine);
}

/**
 * The memory held by batches of events, across every source of a stream processor, from the
 * moment a batch is admitted (a push body before it is read, by its Content-Length, or as its
 * bytes arrive) until it is answered (durable and applied, or failed): `hold` refuses with an
 * OverloadedError (503 with `Retry-After` on the push API; a connector backs off and pulls
 * nothing meanwhile) what would take the total past the budget. A batch that alone costs more
 * than the whole budget is refused as too large (413 `REQUEST_TOO_LARGE`), not retried.
 *
 * @example
 * const budget = new MemoryBudget(320 * 1024 * 1024);
 * budget.hold('payments', 12 * body.length, 12 * body.length); // throws OVERLOADED past the budget
 * budget.free(12 * body.length);
 */
export class MemoryBudget {
  private held = 0;
  private batches = 0;

  constructor(readonly limit: number = DEFAULT_MEMORY_BUDGET) {}

  /** Memory held now, and by how many batches. */
  get usage(): { readonly bytes: number; readonly batches: number } {
    return { bytes: this.held, batches: this.batches };
  }

  /**
   * Holds `bytes` more for a batch of `source` that then costs `batch` in all (`batches`: 1 when
   * it is a new batch, 0 when one held grows).
   */
  hold(source: string, bytes: number, batch: number, batches: 0 | 1 = 1): void {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    if (batch > this.limit) {
      throw new ValidationError('REQUEST_TOO_LARGE', `this batch of source "${source}" would use about ${mib(batch)} of memory while it is decoded and appended, more than the server's whole budget for batches of events (${mib(this.limit)}); push fewer events per request, or give the server more (sluice serve --push-memory <MiB>)`, { retryable: false });
    }
    if (this.held + bytes > this.limit) {
      throw new OverloadedError('OVERLOADED', `the server's memory budget for batches of events (${mib(this.limit)}, all sources) is held by ${this.batches} batch(es) using ${mib(this.held)}, and this batch of source "${source}" needs ${mib(bytes)} more; retry after a second`);
    }
    this.held += bytes;
    this.batches += batches;
  }

  /** Frees `bytes` held (`batches`: 1 when a batch is done, 0 when only part of one is freed). */
  free(bytes: number, batches: 0 | 1 = 1): void {
    this.held -= bytes;
    this.batches -= batches;
  }
}
