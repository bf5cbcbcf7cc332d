import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import type { AppendOutcome } from '../../ingest/connectors/connector.js';
import { reportSchemaChange, schemaChangeOf, schemaChangeParts } from './report-schema-change.js';

/** How long a streamed `schema_changed` stays firing after the last batch refused for it, at least: long enough for `sluice status` to show it. */
export const STREAM_SCHEMA_CHANGE_SHOWN_MS = 15 * 60_000;

/**
 * The consecutive events through one way in that must all have failed a column's type before a
 * stream's schema is judged changed: one bad event from one client is a dead letter, not a page
 * (a one-event push refused whole used to fire an ERROR for 15 minutes: review rev10).
 */
export const SCHEMA_CHANGE_MIN_EVENTS = 20;

/**
 * Watches streamed batches (push API and connectors) for a schema change upstream, as file ingest
 * does (see `schemaChangeOf`): once `SCHEMA_CHANGE_MIN_EVENTS` consecutive events through one way
 * in (its origin: `push`, a connector's kind) were refused because their values of a column had
 * another type (batches that kept no event; an event kept through that way in starts the count
 * again), `schema_changed` fires on the source, as that way in's part (see
 * `recordSchemaChangePart`). A file is judged alone, as a whole export (`ingest-rows.ts`). The first batch
 * through that same way in that fits once `STREAM_SCHEMA_CHANGE_SHOWN_MS` have passed since the
 * last refused one ends that part (before, a fitting batch a few seconds later cleared it and
 * `sluice status` never showed it); batches through another way in, a fitting file, and
 * columns a connector saw dropped (ended only by removing them from the schema, see
 * `endUndeclaredDroppedColumns`) are other parts. On the hot path it costs a map lookup per
 * batch: the store is written only when this process's view of a part changes (the first batch
 * of a source and way in after a start, and transitions).
 *
 * @example
 * const watch = streamSchemaWatch(platform, () => project, log);
 * startStreamRuntime(platform, { ..., onAppended: (source, origin, outcome) => watch(source, origin, outcome) });
 */
export function streamSchemaWatch(ctx: SluiceContext, project: () => Project, log: (level: 'warn', message: string) => void): (source: string, origin: string, outcome: AppendOutcome) => void {
  /** Per source and way in (`<source>\u0000<origin>`). */
  const firing = new Map<string, boolean>();
  /** Per source and way in: no ending before this time (epoch ms). */
  const shownUntil = new Map<string, number>();
  /** Per source and way in: per column, the consecutive events refused for its type (reset by an event kept). */
  const refusedRuns = new Map<string, Map<string, number>>();
  let reports: Promise<void> = Promise.resolve();
  return (name, origin, outcome) => {
    const key = `${name}\u0000${origin}`;
    // Duplicates passed the schema as accepted events did.
    const valid = outcome.accepted + outcome.duplicates;
    const refusedWhole = valid === 0 && outcome.rejected.length > 0;
    if (valid > 0) refusedRuns.delete(key);
    if (!refusedWhole && (valid === 0 || firing.get(key) === false)) return;
    if (!refusedWhole && (shownUntil.get(key) ?? 0) > ctx.now()) return;
    const source = project().sources.find((s) => s.name === name);
    if (source === undefined) return;
    let change = schemaChangeOf(source, { accepted: valid, reasons: outcome.rejected.map((r) => r.reason) });
    let count = valid + outcome.rejected.length;
    if (refusedWhole && change !== undefined) {
      const before = refusedRuns.get(key);
      const runs = new Map(change.retyped.map((column) => [column, (before?.get(column) ?? 0) + outcome.rejected.length]));
      refusedRuns.set(key, runs);
      const shown = change.retyped.filter((column) => runs.get(column)! >= SCHEMA_CHANGE_MIN_EVENTS);
      // Not enough evidence yet: nothing to report, and nothing to end (the events were refused).
      if (shown.length === 0) return;
      change = { ...change, retyped: shown };
      count = Math.max(...shown.map((column) => runs.get(column)!));
    }
    const now = change !== undefined && change.retyped.length > 0;
    if (now) shownUntil.set(key, ctx.now() + STREAM_SCHEMA_CHANGE_SHOWN_MS);
    if (firing.get(key) === now) return;
    firing.set(key, now);
    reports = reports
      .then(async () => {
        if (!now) {
          const part = (await schemaChangeParts(ctx, name))[origin];
          const kept = part === undefined ? 0 : part.at + STREAM_SCHEMA_CHANGE_SHOWN_MS;
          if (kept > ctx.now()) {
            firing.set(key, true);
            shownUntil.set(key, kept);
            return;
          }
        }
        await reportSchemaChange(ctx, source, `${now ? 'of the last' : 'of'} ${count} event(s) from ${origin}`, change, origin);
      })
      .catch((error: unknown) => {
        firing.delete(key);
        log('warn', `schema change of source "${name}" not recorded: ${(error as Error).message}`);
      });
  };
}
