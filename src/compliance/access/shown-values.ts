import { jobName, type Project } from '../../definitions/index.js';
import type { Principal } from '../principal.js';
import { authorize, authorizeRead, type AccessDecision } from './authorize.js';
import { workRights } from './job-rights.js';
import { readDependencies } from './read-dependencies.js';

/**
 * What a command shows of the data itself, beyond figures: feature values (`view:feature`: skew
 * examples, drift bins of served or dataset values, a view's check samples) and raw rows or column
 * values of sources (dead letters, drift bins of a source's batches, check samples).
 */
export interface ShownValues {
  readonly features?: readonly string[];
  readonly sources?: readonly string[];
}

/**
 * Every feature a served row may hold: those of `service`; for a feature-list request
 * (`_features`), no service or a service the project lacks, every feature of every view.
 *
 * @example
 * servedFeatures(project, 'fraud_v1'); // ['txn_stats:n', 'profile:segment']
 */
export function servedFeatures(project: Project, service?: string): string[] {
  const named = service === undefined ? undefined : project.featureServices.find((s) => s.name === service);
  if (named) return named.features.map((f) => `${f.view}:${f.feature}`);
  return [...project.featureViews, ...(project.requestViews ?? [])].flatMap((v) => v.features.map((f) => `${v.name}:${f.name}`));
}

/**
 * The features (`view:feature`) of feature columns (`view__feature`: a dataset's, a served row's);
 * a column of no view the project has (a removed one) is split at its first `__`, so reading it
 * still asks a read right, which only a rule naming it (or `*`) grants.
 *
 * @example
 * featuresOfColumns(project, ['txn_stats__n']); // ['txn_stats:n']
 */
export function featuresOfColumns(project: Project, columns: readonly string[]): string[] {
  const known = new Map(servedFeatures(project).map((f) => [f.replace(':', '__'), f]));
  return [...new Set(columns.map((c) => known.get(c) ?? (c.includes('__') ? c.replace('__', ':') : c)))];
}

/**
 * What the samples of data quality checks on `datasets` show (failing rows' values): a source's or
 * transform table's rows (`sources`), a view's feature values (every feature of the view). A name
 * that is both asks both; a name the project no longer has counts as a source's, whose right only
 * a rule naming it (or `*`) grants.
 *
 * @example
 * checkSampleValues(project, ['txns', 'stats']); // { sources: ['txns'], features: ['stats:n'] }
 */
export function checkSampleValues(project: Project, datasets: readonly string[]): ShownValues {
  const names = [...new Set(datasets)].sort();
  const views = names.flatMap((d) => project.featureViews.filter((v) => v.name === d));
  const sources = names.filter((d) => project.sources.some((s) => s.name === d) || !views.some((v) => v.name === d));
  return { sources, features: views.flatMap((v) => v.features.map((f) => `${v.name}:${f.name}`)) };
}

/**
 * The one rule for every door that shows recorded values: a value is shown only to whom the door
 * that serves it would serve it. A feature's values need the right to read it online (as
 * `POST /v1/features/online` and `sluice get` ask, request-view inputs included); a source's rows
 * and column values need the right to write its records (what `sluice ingest SOURCE` asks:
 * `push` on a stream or CDC source, `run` on `ingest:<source>` otherwise). The right to see
 * operational figures (`admin: ["status"]`) shows none of them. Returns the decision on the first
 * refused value, else allowed.
 *
 * @example
 * authorizeShownValues(accessPolicy(project), principal, project, { features: ['spend:n'], sources: ['txns'] });
 */
export function authorizeShownValues(policy: Parameters<typeof authorize>[0], principal: Principal, project: Project, shown: ShownValues): AccessDecision {
  const features = shown.features ?? [];
  if (features.length > 0) {
    const read = authorizeRead(policy, principal, features, readDependencies(project));
    if (!read.allowed) return { allowed: false, reason: `it shows feature values: ${read.reason}` };
  }
  for (const source of shown.sources ?? []) {
    for (const [action, resource] of workRights(project, jobName('ingest', source))) {
      const decision = authorize(policy, principal, action, resource);
      if (!decision.allowed) return { allowed: false, reason: `it shows rows of source "${source}", which only who may write them may see: ${decision.reason}` };
    }
  }
  return { allowed: true, reason: 'every value shown is readable' };
}
