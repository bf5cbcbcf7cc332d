import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import type { AppendOutcome } from '../../ingest/connectors/connector.js';
import { reportSchemaChange, schemaChangeOf } from './report-schema-change.js';

/**
 * Watches streamed batches (push API and connectors) for a schema change upstream, as file ingest
 * does (see `schemaChangeOf`): a batch that kept no event because every event's value of a column
 * had another type fires `schema_changed` on the source; the next batch that fits clears it. On
 * the hot path it costs a map lookup per batch: the store is written only when this process's
 * view of the condition changes (the first batch of a source after a start, and transitions).
 *
 * @example
 * const watch = streamSchemaWatch(platform, () => project, log);
 * startStreamRuntime(platform, { ..., onAppended: (source, origin, outcome) => watch(source, origin, outcome) });
 */
export function streamSchemaWatch(ctx: SluiceContext, project: () => Project, log: (level: 'warn', message: string) => void): (source: string, origin: string, outcome: AppendOutcome) => void {
  const firing = new Map<string, boolean>();
  let reports: Promise<void> = Promise.resolve();
  return (name, origin, outcome) => {
    // Duplicates passed the schema as accepted events did.
    const valid = outcome.accepted + outcome.duplicates;
    const refusedWhole = valid === 0 && outcome.rejected.length > 0;
    if (!refusedWhole && (valid === 0 || firing.get(name) === false)) return;
    const source = project().sources.find((s) => s.name === name);
    if (source === undefined) return;
    const change = schemaChangeOf(source, { accepted: valid, reasons: outcome.rejected.map((r) => r.reason) });
    const now = change !== undefined && change.retyped.length > 0;
    if (firing.get(name) === now) return;
    firing.set(name, now);
    const count = valid + outcome.rejected.length;
    reports = reports
      .then(() => reportSchemaChange(ctx, source, `of ${count} event(s) from ${origin}`, change))
      .catch((error: unknown) => {
        firing.delete(name);
        log('warn', `schema change of source "${name}" not recorded: ${(error as Error).message}`);
      });
  };
}
