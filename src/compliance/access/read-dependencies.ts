import type { Project } from '../../definitions/index.js';

/** Per request-view feature (`view:feature`), the features it is computed from; features absent here read only themselves. */
export type ReadDependencies = ReadonlyMap<string, readonly string[]>;

const cache = new WeakMap<Project, ReadDependencies>();
const NONE: ReadDependencies = new Map();

/**
 * What reading each request-view feature reads besides itself: every feature of every input
 * view of its request view (its function receives them all, so any of them can shape the
 * answer). Computed once per compiled project. Request views read only feature views, so this is
 * the whole closure; a feature view computed from a transform is authorized as itself (a read
 * rule names features, not source columns: see docs/compliance-access.md).
 *
 * @example
 * readDependencies(project).get('affordability:ratio'); // ['profile:age', 'profile:income', 'profile:n']
 */
export function readDependencies(project: Project | undefined): ReadDependencies {
  if (!project?.requestViews?.length) return NONE;
  let deps = cache.get(project);
  if (!deps) {
    const views = new Map(project.featureViews.map((v) => [v.name, v.features.map((f) => `${v.name}:${f.name}`)] as const));
    const built = new Map<string, readonly string[]>();
    for (const r of project.requestViews) {
      const inputs = r.inputs.flatMap((name) => views.get(name) ?? []);
      for (const f of r.features) built.set(`${r.name}:${f.name}`, inputs);
    }
    cache.set(project, (deps = built));
  }
  return deps;
}
