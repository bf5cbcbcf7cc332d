import type { SluiceContext } from '../../context.js';
import { isStreamed, type Project } from '../../definitions/index.js';

/** The health condition of log events a view's replay refused (`view:<view>`; `StreamProcessorOptions.onReplayRefused`). */
export const REPLAY_REFUSED = 'replay_refused';

/**
 * Ends each firing `replay_refused` that is no longer true of what the view serves: its view's
 * online table was rebuilt since (a materialize: `details.generation` is not the table's; a
 * rebuilt table that refuses the entry again is reported again with its own generation), or its
 * log entry (`details.entry`, the latest refused) is trimmed from the log, so no table replays it
 * again. Each is ended by `HealthStore.update`, only if it is still the refusal judged (one
 * another process reported meanwhile stays). Conditions of removed views are ended by
 * `clearRemovedConditions`. `sluice status` runs it.
 *
 * @example
 * const ended = await endReplayRefusals(platform, project);
 */
export async function endReplayRefusals(ctx: SluiceContext, project: Project): Promise<number> {
  const firing = await ctx.metadata.health.list({ firing: true, kind: REPLAY_REFUSED });
  if (firing.length === 0) return 0;
  const streamed = new Set(project.sources.filter(isStreamed).map((s) => s.name));
  const [log, online] = await Promise.all([ctx.log(), ctx.online()]);
  let ended = 0;
  for (const condition of firing) {
    const view = condition.subject.slice('view:'.length);
    const { source, entry, generation } = condition.details ?? {};
    if (typeof source !== 'string' || !streamed.has(source) || typeof entry !== 'number') continue;
    const table = await online.viewInfo(view);
    const rebuilt = typeof generation === 'number' && table !== undefined && table.generation !== generation;
    const trimmed = log.read(source, entry - 1, 1)[0]?.offset !== entry;
    if (!rebuilt && !trimmed) continue;
    // Ended in one transaction with a re-read: a refusal another process reported meanwhile (a
    // later entry, or the rebuilt table's own) is not the one judged here, and stays firing.
    const result = await ctx.metadata.health.update(REPLAY_REFUSED, condition.subject, (c) => (c === undefined || !c.firing || c.details?.entry !== entry || c.details.generation !== generation || c.details.source !== source ? undefined : {
      firing: false, severity: c.severity,
      message: rebuilt
        ? `view "${view}": its online table was rebuilt since log entry ${entry} of source "${source}" was refused: it no longer serves that refusal`
        : `view "${view}": log entry ${entry} of source "${source}" is trimmed from the log: no table replays it again`,
    }), ctx.now());
    if (result?.transition === 'resolved') ended++;
  }
  return ended;
}
