import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import type { AppendOutcome } from '../../ingest/connectors/connector.js';
import { reportSchemaChange, schemaChangeOf, schemaChangeParts } from './report-schema-change.js';

/** How long a streamed `schema_changed` stays firing after the last batch refused for it, at least: long enough for `sluice status` to show it. */
export const STREAM_SCHEMA_CHANGE_SHOWN_MS = 15 * 60_000;

/**
 * Watches streamed batches (push API and connectors) for a schema change upstream, as file ingest
 * does (see `schemaChangeOf`): a batch that kept no event because every event's value of a column
 * had another type fires `schema_changed` on the source, as the part of the way in it came
 * through (its origin: `push`, a connector's kind; see `recordSchemaChangePart`). The first batch
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
  let reports: Promise<void> = Promise.resolve();
  return (name, origin, outcome) => {
    const key = `${name}\u0000${origin}`;
    // Duplicates passed the schema as accepted events did.
    const valid = outcome.accepted + outcome.duplicates;
    const refusedWhole = valid === 0 && outcome.rejected.length > 0;
    if (!refusedWhole && (valid === 0 || firing.get(key) === false)) return;
    if (!refusedWhole && (shownUntil.get(key) ?? 0) > ctx.now()) return;
    const source = project().sources.find((s) => s.name === name);
    if (source === undefined) return;
    const change = schemaChangeOf(source, { accepted: valid, reasons: outcome.rejected.map((r) => r.reason) });
    const now = change !== undefined && change.retyped.length > 0;
    if (now) shownUntil.set(key, ctx.now() + STREAM_SCHEMA_CHANGE_SHOWN_MS);
    if (firing.get(key) === now) return;
    firing.set(key, now);
    const count = valid + outcome.rejected.length;
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
        await reportSchemaChange(ctx, source, `of ${count} event(s) from ${origin}`, change, origin);
      })
      .catch((error: unknown) => {
        firing.delete(key);
        log('warn', `schema change of source "${name}" not recorded: ${(error as Error).message}`);
      });
  };
}
