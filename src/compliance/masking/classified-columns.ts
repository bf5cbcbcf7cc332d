import type { Project } from '../../definitions/index.js';
import { keyedHash } from '../project-secret.js';
import { MASK_PURPOSE } from './mask-methods.js';
import { maskingCatalog } from './masking-catalog.js';

const known = new WeakMap<Project, Map<string, ReadonlySet<string>>>();

function cached(project: Project, id: string, compute: () => ReadonlySet<string>): ReadonlySet<string> {
  let byTable = known.get(project);
  if (!byTable) known.set(project, (byTable = new Map()));
  let columns = byTable.get(id);
  if (!columns) byTable.set(id, (columns = compute()));
  return columns;
}

/**
 * The classified columns of a source (or transform table), as the classification catalog has
 * them after propagation through lineage (a transform's column computed from `email` is
 * classified): those whose values no rejection reason, check sample, log line or error message
 * may quote (see `rejectReasonSql`, `checkBatch`).
 *
 * @example
 * rejectReasonSql(source, keys, composites, classifiedColumns(project, source.name));
 */
export function classifiedColumns(project: Project, source: string): ReadonlySet<string> {
  return cached(project, `source\u0000${source}`, () => {
    const catalog = maskingCatalog(project);
    const schema = project.sources.find((s) => s.name === source)?.schema ?? {};
    return new Set(catalog.empty ? [] : Object.keys(schema).filter((c) => catalog.column(source, c) !== undefined));
  });
}

/**
 * The columns of a feature view's checked rows (its features by name, and its join key columns)
 * whose values no check sample may quote: features classified in the catalog (inherited from
 * their source columns unless declassified) or named by a masking rule, and classified key columns.
 *
 * @example
 * checkBatch(engine, { name: view.name, schema, checks }, rows, { now, classified: classifiedFeatureColumns(project, view.name) });
 */
export function classifiedFeatureColumns(project: Project, view: string): ReadonlySet<string> {
  return cached(project, `view\u0000${view}`, () => {
    const catalog = maskingCatalog(project);
    const found = project.featureViews.find((v) => v.name === view);
    if (!found) return new Set();
    const named = new Set((project.masking ?? []).filter((r) => r.with !== 'clear').flatMap((r) => r.features ?? []));
    return new Set([
      ...found.features.filter((f) => catalog.feature(view, f.name) !== undefined || named.has(`${view}:${f.name}`)).map((f) => f.name),
      ...found.joinKeys.filter((k) => catalog.keyColumn?.(view, k) !== undefined),
    ]);
  });
}

/**
 * Whether an output column `<view>__<feature>` (a dataset's or an answer's) holds a feature the
 * classification catalog classifies: drift profiles keep its categories as tokens.
 *
 * @example
 * isClassifiedFeatureColumn(project, 'profile__email'); // true when email is classified
 */
export function isClassifiedFeatureColumn(project: Project, column: string): boolean {
  const at = column.indexOf('__');
  return at > 0 && classifiedFeatureColumns(project, column.slice(0, at)).has(column.slice(at + 2));
}

/**
 * The token a classified category is kept as in drift profiles: its masking hash
 * (`keyedHash(secret, "mask", value)`), the same on every side a profile is compared with.
 *
 * @example
 * profileRelation(engine, relation, columns, { token: categoryToken(() => projectSecret(ctx.dataDir)) });
 */
export function categoryToken(secret: () => Buffer): (value: string) => string {
  return (value) => keyedHash(secret(), MASK_PURPOSE, value);
}
