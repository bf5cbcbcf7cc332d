import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import { formatDuration } from '../../time/index.js';
import { evaluateFreshness, type FreshnessStatus } from '../freshness-status.js';

/** The condition kind of a source or view past its freshness SLA. */
export const STALE = 'stale';

/** `view:<name>` or `source:<name>`: the subject of a freshness condition. */
export const freshnessSubject = (f: Pick<FreshnessStatus, 'kind' | 'name'>): string => `${f.kind}:${f.name}`;

/**
 * Evaluates every source's and view's freshness (see `evaluateFreshness`: newest committed data
 * and the streaming log's acknowledgements) and reports the `stale` condition of each that
 * declares an SLA, firing or cleared, so a view going stale alerts once and once more when it is
 * fresh again: severity `error`. A view without an SLA whose table is behind its source's
 * committed data (its values are served STALE) fires it at `warn`, until it is fresh again; it is
 * reported only while it fires, so the loop writes nothing for views that never fall behind. A
 * stale condition of something that no longer declares an SLA and is not behind (or is gone) is
 * cleared. Returns the evaluation.
 *
 * @example
 * const freshness = await reportFreshness(platform, await platform.project());
 */
export async function reportFreshness(ctx: SluiceContext, project: Project): Promise<FreshnessStatus[]> {
  const now = ctx.now();
  const freshness = await evaluateFreshness(project, { metadata: ctx.metadata, online: await ctx.online(), log: () => ctx.log(), now });
  const watched = freshness.filter((f) => f.slaSeconds !== null || f.stale);
  for (const f of watched) {
    await ctx.metadata.health.report({
      kind: STALE, subject: freshnessSubject(f), firing: f.stale, severity: f.slaSeconds === null ? 'warn' : 'error',
      message: f.stale ? `${f.kind} "${f.name}" is STALE: ${f.reason}` : `${f.kind} "${f.name}" is fresh: its newest data is ${Math.round(f.lagSeconds ?? 0)}s old (SLA ${formatDuration(f.slaSeconds! * 1000)})`,
      details: { lagSeconds: f.lagSeconds, slaSeconds: f.slaSeconds, dataAt: f.dataAt },
    }, now);
  }
  const subjects = new Set(watched.map(freshnessSubject));
  const declared = new Set(freshness.map(freshnessSubject));
  for (const left of await ctx.metadata.health.list({ firing: true, kind: STALE })) {
    if (subjects.has(left.subject)) continue;
    const what = `${left.subject.replace(':', ' "')}"`;
    const message = declared.has(left.subject) ? `${what} is fresh: its online table holds the latest committed data (it declares no freshness SLA)` : `${what} was removed`;
    await ctx.metadata.health.report({ kind: STALE, subject: left.subject, firing: false, severity: left.severity, message }, now);
  }
  return freshness;
}
