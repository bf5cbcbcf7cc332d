import type { Project } from '../../definitions/index.js';
import { maskingCatalog } from './masking-catalog.js';

const known = new WeakMap<Project, Map<string, ReadonlySet<string>>>();

/**
 * The classified columns of a source (or transform table): those whose values no rejection
 * reason, log line or error message may quote (see `rejectReasonSql`).
 *
 * @example
 * rejectReasonSql(source, keys, composites, classifiedColumns(project, source.name));
 */
export function classifiedColumns(project: Project, source: string): ReadonlySet<string> {
  let bySource = known.get(project);
  if (!bySource) known.set(project, (bySource = new Map()));
  let columns = bySource.get(source);
  if (!columns) {
    const catalog = maskingCatalog(project);
    const schema = project.sources.find((s) => s.name === source)?.schema ?? {};
    columns = new Set(catalog.empty ? [] : Object.keys(schema).filter((c) => catalog.column(source, c) !== undefined));
    bySource.set(source, columns);
  }
  return columns;
}
