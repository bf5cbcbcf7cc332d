import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import type { AppendOutcome } from '../../ingest/connectors/connector.js';
import { reportSchemaChange, SCHEMA_CHANGED, schemaChangeOf } from './report-schema-change.js';

/** How long a streamed `schema_changed` stays firing after the last batch refused for it, at least: long enough for `sluice status` to show it. */
export const STREAM_SCHEMA_CHANGE_SHOWN_MS = 15 * 60_000;

/**
 * Watches streamed batches (push API and connectors) for a schema change upstream, as file ingest
 * does (see `schemaChangeOf`): a batch that kept no event because every event's value of a column
 * had another type fires `schema_changed` on the source. The first batch that fits once
 * `STREAM_SCHEMA_CHANGE_SHOWN_MS` have passed since the last refused batch clears it (before,
 * a fitting batch a few seconds later cleared it and `sluice status` never showed it). A
 * condition of columns a connector saw dropped (`details.nulled`, see `reportConnectorIncident`)
 * is not cleared by batches: it ends when the source no longer declares those columns (see
 * `clearRemovedConditions`). On the hot path it costs a map lookup per batch: the store is
 * written only when this process's view of the condition changes (the first batch of a source
 * after a start, and transitions).
 *
 * @example
 * const watch = streamSchemaWatch(platform, () => project, log);
 * startStreamRuntime(platform, { ..., onAppended: (source, origin, outcome) => watch(source, origin, outcome) });
 */
export function streamSchemaWatch(ctx: SluiceContext, project: () => Project, log: (level: 'warn', message: string) => void): (source: string, origin: string, outcome: AppendOutcome) => void {
  const firing = new Map<string, boolean>();
  /** Per source: no clearing before this time (epoch ms). */
  const shownUntil = new Map<string, number>();
  let reports: Promise<void> = Promise.resolve();
  return (name, origin, outcome) => {
    // Duplicates passed the schema as accepted events did.
    const valid = outcome.accepted + outcome.duplicates;
    const refusedWhole = valid === 0 && outcome.rejected.length > 0;
    if (!refusedWhole && (valid === 0 || firing.get(name) === false)) return;
    if (!refusedWhole && (shownUntil.get(name) ?? 0) > ctx.now()) return;
    const source = project().sources.find((s) => s.name === name);
    if (source === undefined) return;
    const change = schemaChangeOf(source, { accepted: valid, reasons: outcome.rejected.map((r) => r.reason) });
    const now = change !== undefined && change.retyped.length > 0;
    if (now) shownUntil.set(name, ctx.now() + STREAM_SCHEMA_CHANGE_SHOWN_MS);
    if (firing.get(name) === now) return;
    firing.set(name, now);
    const count = valid + outcome.rejected.length;
    reports = reports
      .then(async () => {
        if (!now) {
          const kept = await keptUntil(ctx, name);
          if (kept > ctx.now()) {
            firing.set(name, true);
            shownUntil.set(name, kept);
            return;
          }
        }
        await reportSchemaChange(ctx, source, `of ${count} event(s) from ${origin}`, change);
      })
      .catch((error: unknown) => {
        firing.delete(name);
        log('warn', `schema change of source "${name}" not recorded: ${(error as Error).message}`);
      });
  };
}

/** Until when the source's firing `schema_changed` must stay (a condition left by another process, or dropped columns: for good). */
async function keptUntil(ctx: SluiceContext, source: string): Promise<number> {
  const condition = (await ctx.metadata.health.list({ firing: true, kind: SCHEMA_CHANGED })).find((c) => c.subject === `source:${source}`);
  if (condition === undefined) return 0;
  if (Array.isArray(condition.details?.nulled) && condition.details.nulled.length > 0) return Number.POSITIVE_INFINITY;
  return condition.updatedAt + STREAM_SCHEMA_CHANGE_SHOWN_MS;
}
