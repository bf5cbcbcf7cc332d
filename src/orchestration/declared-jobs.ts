import { projectJobs, type Project } from '../definitions/index.js';
import type { RunRecord } from '../storage/metadata/metadata-store.js';
import { jobSubjectName } from './job-health.js';

/** What a run's outcome needs to be about something still declared: its job and params. */
export type RunOfJob = Pick<RunRecord, 'job' | 'params'>;

/**
 * Whether a job's failure is still about something the project declares, so that its
 * `job_failed`/`job_hung` condition and a failed last run stay problems: a catalogue run
 * (`ingest:payments`, started by the scheduler or `sluice job run`) while the catalogue still has
 * that job (a source that loses its `path` loses its job); a CLI run (`ingest` of source
 * `payments`, `materialize` of one view, `transform`) while what it acts on is declared; a job
 * name alone (its run unknown: `drift:<source>`, or history pruned) while either holds. Runs of
 * jobs that act on no one thing (`skew`, `purge`, `retention`, ...) always are.
 *
 * @example
 * const declared = jobStillDeclared(project);
 * declared.run({ job: 'ingest:payments', params: {} }); // false once payments has no path
 */
export function jobStillDeclared(project: Project): { run(run: RunOfJob): boolean; name(name: string): boolean } {
  const catalogue = new Set(projectJobs(project).map((j) => j.name));
  const targets: Readonly<Record<string, ReadonlySet<string>>> = {
    ingest: new Set(project.sources.map((s) => s.name)),
    drift: new Set(project.sources.map((s) => s.name)),
    transform: new Set((project.transforms ?? []).map((t) => t.name)),
    materialize: new Set(project.featureViews.map((v) => v.name)),
  };
  const targetDeclared = (name: string): boolean => {
    const at = name.indexOf(':');
    const of = at < 0 ? undefined : targets[name.slice(0, at)];
    return of === undefined || of.has(name.slice(at + 1));
  };
  return {
    run: (run) => (run.job.includes(':') ? catalogue.has(run.job) : targetDeclared(jobSubjectName(run.job, run.params))),
    name: (name) => catalogue.has(name) || targetDeclared(name),
  };
}
