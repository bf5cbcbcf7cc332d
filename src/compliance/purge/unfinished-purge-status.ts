import type { SluiceContext } from '../../context.js';
import { listRuns } from '../../orchestration/track-run.js';
import type { UnfinishedPurge } from '../../storage/metadata/purge-store.js';
import { PURGE_STEPS } from './purge-types.js';

/** The health condition of a purge stopped or killed before its later steps (`purge:<table>`). */
export const PURGE_UNFINISHED = 'purge_unfinished';

/**
 * The step an unfinished purge had started: its own record's, else that of its purge's source
 * record (same owner: a derived table's record holds only its lake rows), else `lake`.
 */
export function stoppedStep(purge: UnfinishedPurge, all: readonly UnfinishedPurge[]): string {
  return purge.step ?? all.find((u) => u.owner === purge.owner && u.step !== null)?.step ?? 'lake';
}

/** What an unfinished purge stopped at `step` has left undone, by what it removed and where the rest may still be. */
function leftUndone(purge: UnfinishedPurge, step: string): string {
  const at = PURGE_STEPS.findIndex((s) => s.name === step);
  // A record exists only once a lake was swapped or a later step started: the lake's own step is never what is left.
  const left = PURGE_STEPS.slice(Math.max(at, 1));
  const removed = purge.rows > 0 ? `${purge.rows} lake row(s) are removed, but` : 'it removed no lake row, and';
  const steps = at <= 0 ? 'steps after the lake\'s' : `steps from the ${step} step on`;
  const served = left.some((s) => s.name === 'online') ? ' (and be served online)' : '';
  return `${removed} its ${steps} are not done: rows it removes may still be in ${left.map((s) => s.removesFrom).join(', ')}${served}`;
}

/** What finishes an unfinished purge, as a command to run. */
function finishedBy(purge: UnfinishedPurge): string {
  if (purge.owner !== null) return `run "sluice erase --entity <entity> --key <key>" of erasure request ${purge.owner} again (or any purge of "${purge.source}" or its source) to finish it`;
  if (purge.reason === 'retention') return 'run "sluice retention run" (the scheduler\'s hourly retention does too) to finish it';
  return `the next purge of "${purge.source}" (or of its source) finishes it`;
}

/**
 * Fires `purge_unfinished` (`purge:<table>`, severity error) for each unfinished purge
 * (`PurgeStore.unfinishedPurges`) whose purge no longer runs: a purge stopped or killed after its
 * lake swap or a later step, whose remaining steps are not done, so the rows it removes may still
 * be kept or served until a purge of that source finishes it. The message names the table, the
 * step, the lake rows removed (or that none was), where the rows may still be (the stores of that
 * step and the later ones, `PURGE_STEPS`) and the command that finishes it. Cleared once the
 * record is gone. `sluice status` and every purge's end run it.
 *
 * @example
 * const firing = await reportUnfinishedPurges(platform);
 */
export async function reportUnfinishedPurges(ctx: SluiceContext): Promise<number> {
  const now = ctx.now();
  // A running purge's own record is its progress, not a problem (dead runs are reaped by the listing).
  const live = new Set((await listRuns(ctx, 10_000, { job: 'purge', status: 'running' })).flatMap((r) => (Array.isArray(r.params.tables) ? r.params.tables.map(String) : [])));
  const all = await ctx.metadata.purge.unfinishedPurges();
  const firing = new Set((await ctx.metadata.health.list({ firing: true, kind: PURGE_UNFINISHED })).map((c) => c.subject));
  const stopped = all.filter((u) => !live.has(u.source));
  for (const u of stopped) {
    const who = u.owner !== null ? `erasure request ${u.owner}` : u.reason;
    const step = stoppedStep(u, all);
    await ctx.metadata.health.report({
      kind: PURGE_UNFINISHED, subject: `purge:${u.source}`, firing: true, severity: 'error',
      message: `purge of "${u.source}" (${who}) stopped at its ${step} step at ${new Date(u.at).toISOString()}: ${leftUndone(u, step)}; ${finishedBy(u)}`,
      details: { source: u.source, owner: u.owner, reason: u.reason, step, rows: u.rows },
    }, now);
    firing.delete(`purge:${u.source}`);
  }
  for (const subject of firing) {
    if (live.has(subject.slice('purge:'.length))) continue;
    await ctx.metadata.health.report({ kind: PURGE_UNFINISHED, subject, firing: false, severity: 'error', message: `the purge of "${subject.slice('purge:'.length)}" is finished` }, now);
  }
  return stopped.length;
}
