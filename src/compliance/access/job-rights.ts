import { isStreamed, jobName, projectJobs, type JobDefinition, type Project } from '../../definitions/index.js';
import type { AccessAction } from './authorize.js';

/** One right: an action on a resource, as `authorize` decides it. */
export type AccessRight = readonly [action: Exclude<AccessAction, 'read'>, resource: string];

/**
 * The rights doing a job's work needs, for every door (`sluice run`, the scheduler, and the CLI
 * commands that do a job's work): `run` on the job, plus the `datasets` right for a dataset job
 * (whose build then checks each feature it reads) and the admin action `retention` for the
 * retention job.
 *
 * @example
 * jobRights({ name: 'dataset:train', kind: 'dataset', target: 'train', upstream: [] });
 * // [['run', 'dataset:train'], ['datasets', 'datasets']]
 */
export function jobRights(job: JobDefinition): AccessRight[] {
  const rights: AccessRight[] = [['run', job.name]];
  if (job.kind === 'dataset') rights.push(['datasets', 'datasets']);
  if (job.kind === 'retention') rights.push(['admin', 'retention']);
  return rights;
}

/**
 * The rights of the work a job name stands for, catalogue job or not, so no name goes unchecked:
 * a catalogue job's `jobRights`; an ingest into a stream or CDC source (no job: events reach it by
 * push) asks `push` on the source, as `POST /v1/push/<source>` does; anything else (a batch source
 * without a path or connector, an unknown name, which the command then refuses) asks `run` on
 * the name, which `runRightNames` lets a rule grant where the name exists.
 *
 * @example
 * workRights(project, 'ingest:transactions'); // [['push', 'transactions']] for a stream source
 */
export function workRights(project: Project, name: string): AccessRight[] {
  const job = projectJobs(project).find((j) => j.name === name);
  if (job) return jobRights(job);
  const source = project.sources.find((s) => jobName('ingest', s.name) === name);
  if (source && isStreamed(source)) return [['push', source.name]];
  return [['run', name]];
}
