import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import { declaredCheckSubjects } from '../../quality/run-checks.js';
import { jobStillDeclared } from '../../orchestration/declared-jobs.js';
import { endUndeclaredViews, jobSubjectName } from '../../orchestration/job-health.js';
import type { RunRecord } from '../../storage/metadata/metadata-store.js';
import { CONNECTOR_LOST } from './connector-beats.js';
import { CONNECTOR_FAILED, CONNECTOR_RETRYING, CONNECTOR_STOPPED, DATA_LOST, connectorSources, connectorSubject } from './connector-health.js';
import { endUndeclaredDroppedColumns, SCHEMA_CHANGED } from './report-schema-change.js';
import { REPLAY_REFUSED } from './end-replay-refusals.js';

/** What a condition of each kind is about, as its detector names it, and whether the definitions still declare it. */
interface SubjectRule {
  readonly kind: string;
  readonly declared: (subject: string, details: Readonly<Record<string, unknown>> | undefined) => boolean;
  /** The thing, in words, for the message the condition clears with. */
  readonly name: (subject: string, details?: Readonly<Record<string, unknown>>) => string;
}

function subjectRules(project: Project, runs: ReadonlyMap<string, RunRecord>): readonly SubjectRule[] {
  const checks = declaredCheckSubjects(project);
  // `feature:<view>__<feature>`: what drift and skew report about a served or trained feature.
  const features = new Set([
    ...project.featureViews.flatMap((v) => v.features.map((f) => `feature:${v.name}__${f.name}`)),
    ...project.requestViews.flatMap((v) => v.features.map((f) => `feature:${v.name}__${f.name}`)),
  ]);
  // `column:<source>.<column>`: what batch drift reports about a source's column.
  const columns = new Set(project.sources.flatMap((s) => Object.keys(s.schema).map((c) => `column:${s.name}.${c}`)));
  const sources = new Set(project.sources.map((s) => `source:${s.name}`));
  const views = new Set(project.featureViews.map((v) => `view:${v.name}`));
  const connectors = new Set(connectorSources(project).map(connectorSubject));
  const schemaChangeName = (subject: string): string => `source "${subject.slice('source:'.length)}"`;
  const connectorName = (subject: string): string => `the connector of source "${subject.slice('connector:'.length)}"`;
  const checkName = (subject: string): string => {
    const [dataset, ...check] = subject.slice('check:'.length).split('/');
    return `check "${check.join('/')}" of "${dataset}"`;
  };
  const featureOrColumn = (subject: string): string => subject.replace(':', ' ');
  const jobs = jobStillDeclared(project);
  // A job's condition names its run: a scheduled run of a job gone from the catalogue is cleared even though a CLI run of the same name could still run.
  // A subject its run no longer reports on is cleared too: the one `job:dataset_build` that every build shared (before 2026-12-01) never ends otherwise.
  const jobDeclared = (subject: string, details: Readonly<Record<string, unknown>> | undefined): boolean => {
    if (!subject.startsWith('job:')) return true;
    const run = typeof details?.runId === 'string' ? runs.get(details.runId) : undefined;
    if (run ? subject !== `job:${jobSubjectName(run.job, run.params)}` : subject === SHARED_BUILD_SUBJECT) return false;
    return run ? jobs.run(run) : jobs.name(subject.slice('job:'.length));
  };
  const jobName = (subject: string): string => `job ${subject.slice('job:'.length)}`;
  return [
    { kind: 'job_failed', declared: jobDeclared, name: jobName },
    { kind: 'job_hung', declared: jobDeclared, name: jobName },
    { kind: 'check_failed', declared: (s) => checks.has(s), name: checkName },
    { kind: 'drift', declared: (s) => (s.startsWith('column:') ? columns.has(s) : features.has(s)), name: featureOrColumn },
    { kind: 'skew', declared: (s) => features.has(s), name: featureOrColumn },
    // Columns a connector saw dropped end once the source no longer declares any of them (`endUndeclaredDroppedColumns`).
    { kind: SCHEMA_CHANGED, declared: (s) => sources.has(s), name: schemaChangeName },
    { kind: CONNECTOR_FAILED, declared: (s) => connectors.has(s), name: connectorName },
    { kind: CONNECTOR_RETRYING, declared: (s) => connectors.has(s), name: connectorName },
    { kind: CONNECTOR_STOPPED, declared: (s) => connectors.has(s), name: connectorName },
    { kind: CONNECTOR_LOST, declared: (s) => connectors.has(s), name: connectorName },
    { kind: DATA_LOST, declared: (s) => connectors.has(s), name: connectorName },
    // A stream view's replay refusals (`StreamProcessorOptions.onReplayRefused`) end with the view (or its rebuild: `endReplayRefusals`).
    { kind: REPLAY_REFUSED, declared: (s) => views.has(s), name: (s) => `view "${s.slice('view:'.length)}"` },
  ];
}

/** The subject every dataset build reported on before each build's own (`jobSubjectName`). */
const SHARED_BUILD_SUBJECT = 'job:dataset_build';

/** Runs read to find the run a job's condition names; an older run is judged by its job's name alone. */
const RUNS_READ = 500;

/**
 * Clears the firing conditions about things the project no longer declares: a check removed
 * (`check_failed`), a view's feature or a request view removed (`drift`, `skew` of
 * `feature:<view>__<feature>`), a source removed (`drift` of its columns, `schema_changed`), the columns a connector saw dropped
 * removed from the source's schema (`schema_changed` with `details.nulled`), a source's connector removed
 * (`connector_failed`, `connector_retrying`, `connector_stopped`, `connector_lost`, `data_lost`), a
 * job's failure or hang (`job_failed`, `job_hung`) that is about nothing declared any more (see
 * `jobStillDeclared`: a scheduled job gone from the catalogue, a CLI run of a removed view), and
 * the removed views an interrupted full materialize left (`endUndeclaredViews`).
 * Their detectors can never report them again, so left firing they would keep `sluice status`
 * unhealthy for good; cleared, each makes one `resolved` alert. Runs with the freshness loop and
 * in every `sluice status` (stale conditions of removed SLAs are cleared by `reportFreshness`).
 * Subjects of other kinds (servers, erasure requests) are left to their detectors.
 *
 * @example
 * await clearRemovedConditions(platform, await platform.project());
 */
export async function clearRemovedConditions(ctx: SluiceContext, project: Project): Promise<number> {
  let cleared = await endUndeclaredViews(ctx, new Set(project.featureViews.map((v) => v.name)));
  const columns = new Set(project.sources.flatMap((s) => Object.keys(s.schema).map((c) => `${s.name}.${c}`)));
  cleared += await endUndeclaredDroppedColumns(ctx, (source, column) => columns.has(`${source}.${column}`));
  const firing = await ctx.metadata.health.list({ firing: true });
  const runIds = new Set(firing.flatMap((c) => (c.subject.startsWith('job:') && typeof c.details?.runId === 'string' ? [c.details.runId] : [])));
  const runs = new Map(runIds.size === 0 ? [] : (await ctx.metadata.listRuns(RUNS_READ)).filter((r) => runIds.has(r.id)).map((r) => [r.id, r]));
  const rules = new Map(subjectRules(project, runs).map((r) => [r.kind, r]));
  for (const condition of firing) {
    const rule = rules.get(condition.kind);
    if (!rule || rule.declared(condition.subject, condition.details)) continue;
    await ctx.metadata.health.report({
      kind: condition.kind, subject: condition.subject, firing: false, severity: condition.severity,
      message: `${rule.name(condition.subject, condition.details)} is no longer declared: its condition is cleared`,
    }, ctx.now());
    cleared++;
  }
  return cleared;
}
