import { resolveFeatures } from './resolve-features.js';
import type { Dataset, FeatureView, Project } from './types.js';

/** What a job does: ingest a batch source's new files, run a SQL transform, materialize a view's online table, or build a declared dataset. */
export type JobKind = 'ingest' | 'transform' | 'materialize' | 'dataset' | 'retention';

/** One job of the project's catalogue, named `<kind>:<target>`, with the jobs that must run before it. */
export interface JobDefinition {
  readonly name: string;
  readonly kind: JobKind;
  /** The source, transform, view or dataset it acts on. */
  readonly target: string;
  /** Jobs whose output it reads, in declaration order. */
  readonly upstream: readonly string[];
}

/** The job a name or definition stands for: the name as written, or the one job that acts on a feature view, transform, batch source or dataset; undefined for anything else. */
export function jobNameOf(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  const named = target as { kind?: string; name?: string } | undefined;
  const kind = { featureView: 'materialize', sqlTransform: 'transform', batchSource: 'ingest', dataset: 'dataset' }[named?.kind ?? ''] as JobKind | undefined;
  return kind === undefined || typeof named?.name !== 'string' ? undefined : jobName(kind, named.name);
}

/** The job name of a kind and target: `materialize:fraud_v1`. */
export function jobName(kind: JobKind, target: string): string {
  return `${kind}:${target}`;
}

/**
 * The project's jobs, derived from its definitions' graph: `ingest:<source>` for each batch
 * source that declares a `path` or a `postgresTable` connector, `transform:<name>` for each SQL transform (after the jobs that
 * write its inputs), `materialize:<view>` for each feature view (after the job that writes its
 * source), `dataset:<name>` for each declared dataset (after the jobs that write its views'
 * sources, request views' inputs included), and `retention:<project>` when a source or view
 * declares a `retention`. A table written by no job (a stream source, a batch
 * source without `path`) adds no dependency. Jobs come in dependency order (upstream first).
 *
 * @example
 * projectJobs(project).map((j) => j.name); // ['ingest:payments', 'transform:daily', 'materialize:fraud_v1']
 */
export function projectJobs(project: Project): JobDefinition[] {
  const writer = new Map<string, string>();
  const jobs: JobDefinition[] = [];
  for (const source of project.sources) {
    if (source.kind === undefined && (source.path !== undefined || source.connector?.kind === 'postgresTable')) writer.set(source.name, jobName('ingest', source.name));
  }
  for (const t of project.transforms ?? []) writer.set(t.name, jobName('transform', t.name));
  for (const source of project.sources) {
    const name = writer.get(source.name);
    if (name?.startsWith('ingest:')) jobs.push({ name, kind: 'ingest', target: source.name, upstream: [] });
  }
  const transforms = new Map((project.transforms ?? []).map((t) => [t.name, t]));
  const placed = new Set<string>();
  const place = (name: string): void => {
    const t = transforms.get(name);
    if (!t || placed.has(name)) return;
    placed.add(name);
    for (const input of t.inputs) place(input);
    jobs.push({ name: jobName('transform', name), kind: 'transform', target: name, upstream: t.inputs.flatMap((i) => writer.get(i) ?? []) });
  };
  for (const name of transforms.keys()) place(name);
  for (const view of project.featureViews) {
    jobs.push({ name: jobName('materialize', view.name), kind: 'materialize', target: view.name, upstream: [writer.get(view.source)].flatMap((w) => w ?? []) });
  }
  for (const d of project.datasets ?? []) {
    const sources = new Set(datasetViews(project, d).map((v) => v.source));
    jobs.push({ name: jobName('dataset', d.name), kind: 'dataset', target: d.name, upstream: [...sources].flatMap((s) => writer.get(s) ?? []) });
  }
  // One retention job for the project when any source or view keeps its data for a limited time (docs/compliance-retention.md).
  if ([...project.sources, ...project.featureViews].some((x) => x.retentionMs !== undefined)) jobs.push({ name: jobName('retention', project.name), kind: 'retention', target: project.name, upstream: [] });
  return jobs;
}

/**
 * What a `run` right may name: every job of the catalogue ({@link projectJobs}), and
 * `ingest:<source>` of every batch source, with a job or not: `sluice ingest` of a file into a
 * source without `path` or connector asks the right its job would (one right for ingest, whichever
 * way it runs).
 *
 * @example
 * runRightNames(project); // ['ingest:customers', 'materialize:fraud_v1', ...]
 */
export function runRightNames(project: Project): string[] {
  const names = projectJobs(project).map((j) => j.name);
  for (const source of project.sources) {
    const ingest = jobName('ingest', source.name);
    if (source.kind === undefined && !names.includes(ingest)) names.push(ingest);
  }
  return names;
}

/** The feature views a declared dataset reads (those of its features, and the inputs of its request views). */
export function datasetViews(project: Project, d: Dataset): FeatureView[] {
  return resolveFeatures(project, d.service !== undefined ? { service: d.service } : { features: d.features ?? [] }).byView.map((v) => v.view);
}
