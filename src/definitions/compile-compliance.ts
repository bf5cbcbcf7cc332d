import { PII_LEVELS, type Classification, type ClassificationSpec, type Transfer, type TransferSpec } from './compliance-types.js';
import { didYouMean } from './suggest.js';
import { CDC_CHANGED_AT, CDC_OP, type Dataset, type DatasetSpec, type Entity, type FeatureView, type Project, type ProjectSpec, type RequestView, type Source, type SourceSpec, type SqlTransformSpec } from './types.js';
import { checkRecord, fail } from './validate-names.js';

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** A region (`eu-west-1`, `us-east-1`) or a region prefix in a transfer policy (`eu`). */
const REGION = /^[a-z]{2,}(-[a-z0-9]+){0,3}$/;

/**
 * A classification as declared, checked: built with `pii`, `tags` or `declassify`, a known level,
 * tags that are short labels, a non-empty reason when given (and always for `declassify`).
 *
 * @example
 * compileClassification('source "customers", column "email"', pii('direct'));
 */
export function compileClassification(where: string, spec: unknown): Classification {
  const c = spec as ClassificationSpec | undefined;
  if (c?.kind !== 'classification') fail(`${where}: a classification is built with pii("direct" | "quasi" | "sensitive", { tags }), tags("...") or declassify("reason"), not ${JSON.stringify(spec)}`);
  if (c.level !== undefined && !PII_LEVELS.includes(c.level)) fail(`${where}: pii level ${JSON.stringify(c.level)} is not one of ${PII_LEVELS.join(', ')}${didYouMean(String(c.level), PII_LEVELS)}`);
  const tags = c.tags ?? [];
  if (!Array.isArray(tags)) fail(`${where}: tags must be a list of labels, e.g. ["contact"]`);
  for (const tag of tags) if (typeof tag !== 'string' || !TAG.test(tag)) fail(`${where}: tag ${JSON.stringify(tag)} is not valid: use letters, digits, "_", "-", "." and ":" (at most 64), e.g. "free-text"`);
  if (c.reason !== undefined && (typeof c.reason !== 'string' || c.reason.trim() === '')) fail(`${where}: reason must say why, e.g. "aggregated over >= 30 events"`);
  if (c.declassify === true) {
    if (c.reason === undefined) fail(`${where}: declassify needs a reason, e.g. declassify("aggregated over >= 30 events")`);
    if (c.level !== undefined || tags.length > 0) fail(`${where}: declassify takes only a reason`);
    return { declassified: true, reason: c.reason };
  }
  if (c.level === undefined && tags.length === 0) fail(`${where}: give a level (pii("quasi")) or tags (tags("free-text"))`);
  const sorted = [...new Set(tags)].sort();
  return { ...(c.level === undefined ? {} : { level: c.level }), ...(sorted.length === 0 ? {} : { tags: sorted }), ...(c.reason === undefined ? {} : { reason: c.reason }) };
}

/** A `classify: { column: ... }` record checked against the columns it may name. */
function compileColumnClasses(where: string, spec: unknown, columns: readonly string[], noun = 'column'): Readonly<Record<string, Classification>> | undefined {
  if (spec === undefined) return undefined;
  checkRecord(spec, `${where}: classify must be an object of ${noun} name to classification, e.g. { email: pii("direct") }`);
  const out: Record<string, Classification> = {};
  for (const [column, value] of Object.entries(spec as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (!columns.includes(column)) fail(`${where}: classify names ${noun} "${column}", which is not ${noun === 'column' ? 'in its schema' : `one of its ${noun}s`}${didYouMean(column, columns)}`);
    out[column] = compileClassification(`${where}, ${noun} "${column}"`, value);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function compileRegion(where: string, region: unknown): string | undefined {
  if (region === undefined) return undefined;
  if (typeof region !== 'string' || !REGION.test(region)) fail(`${where}: region ${JSON.stringify(region)} is not a region name; write e.g. "eu-west-1"`);
  return region;
}

function compileTransfer(spec: TransferSpec, sources: readonly Source[]): Transfer {
  const where = 'transfers';
  if (spec?.kind !== 'transfer') fail(`${where}: each entry must be built with allowTransfer({ from, to, purpose, sources })`);
  const from = compileRegion(`${where}: from`, spec.from);
  const to = compileRegion(`${where}: to`, spec.to);
  if (from === undefined || to === undefined) fail(`${where}: allowTransfer needs from and to regions, e.g. { from: "eu", to: "us" }`);
  if (typeof spec.purpose !== 'string' || spec.purpose.trim() === '') fail(`${where}: allowTransfer from ${from} to ${to} needs a purpose, e.g. "fraud-model"`);
  if (!Array.isArray(spec.sources) || spec.sources.length === 0) fail(`${where}: allowTransfer "${spec.purpose}" needs sources: the sources whose data may move, e.g. [payments]`);
  const names = spec.sources.map((s) => (typeof s === 'string' ? s : s?.name));
  const known = sources.filter((s) => s.kind !== 'transform').map((s) => s.name);
  for (const name of names) {
    if (typeof name !== 'string' || !known.includes(name)) {
      const transform = sources.find((s) => s.name === name && s.kind === 'transform');
      fail(`${where}: allowTransfer "${spec.purpose}" names ${transform ? `transform "${name}"; list the sources it reads instead` : `source "${String(name)}", which is not in the project${didYouMean(String(name), known)}`}`);
    }
  }
  const name = `${from}->${to}:${spec.purpose}`;
  return { name, from, to, purpose: spec.purpose, sources: names as string[], ...(spec.safeguard === undefined ? {} : { safeguard: String(spec.safeguard) }) };
}

const byName = <T extends { readonly name: string }>(items: readonly T[] | undefined): Map<string, T> => new Map((items ?? []).map((i) => [i?.name, i]));

/**
 * Adds a project's classification and residency to its compiled definitions: `classify` on
 * entities, sources (and transforms' tables), feature views (per feature) and request views;
 * each source's, view's (its online table's) and dataset's `region` when the project declares a
 * region; the project's `region`, `onlineStore` and `transfers`. All of it after the hashes: it
 * changes no value and no hash. Lineage (what a feature inherits) is `classificationCatalog`'s.
 *
 * @example
 * const project = compileCompliance(spec, hashedProject);
 */
export function compileCompliance(spec: ProjectSpec, project: Project): Project {
  const sourceSpecs = byName<SourceSpec | SqlTransformSpec>([...(spec.sources ?? []), ...(spec.transforms ?? [])]);
  const region = compileRegion(`project "${spec.name}"`, spec.region);
  const declared = [...sourceSpecs.values()].some((s) => s.region !== undefined) || spec.onlineStore !== undefined || (spec.transfers ?? []).length > 0 || (spec.datasets ?? []).some((d) => d.region !== undefined);
  if (region === undefined && declared) fail(`project "${spec.name}": regions or transfers are declared, but not the project's default region; add region: "eu-west-1" (or where its data lives) to defineProject`);
  const storeRegion = region === undefined ? undefined : (compileRegion('onlineStore', spec.onlineStore?.region) ?? region);
  const entitySpecs = byName(spec.entities);
  const entities = project.entities.map((e): Entity => {
    const classify = entitySpecs.get(e.name)?.classify;
    return classify === undefined ? e : { ...e, classify: compileClassification(`entity "${e.name}"`, classify) };
  });
  const sources = project.sources.map((s): Source => {
    const source = sourceSpecs.get(s.name);
    const where = `${s.kind === 'transform' ? 'transform' : 'source'} "${s.name}"`;
    const columns = Object.keys(s.schema).filter((c) => c !== CDC_CHANGED_AT && c !== CDC_OP);
    const classify = compileColumnClasses(where, source?.classify, columns);
    const at = region === undefined ? undefined : (compileRegion(where, source?.region) ?? region);
    return { ...s, ...(classify === undefined ? {} : { classify }), ...(at === undefined ? {} : { region: at }) };
  });
  const viewSpecs = byName(spec.featureViews);
  const featureViews = project.featureViews.map((v): FeatureView => {
    const features = viewSpecs.get(v.name)?.features ?? {};
    const overrides = Object.entries(features).flatMap(([name, f]) => (f?.classify === undefined ? [] : [[name, compileClassification(`feature view "${v.name}", feature "${name}"`, f.classify)] as const]));
    return { ...v, ...(overrides.length === 0 ? {} : { classify: Object.fromEntries(overrides) }), ...(storeRegion === undefined ? {} : { region: storeRegion }) };
  });
  const requestSpecs = byName(spec.requestViews);
  const requestViews = project.requestViews.map((r): RequestView => {
    const classify = compileColumnClasses(`request view "${r.name}"`, requestSpecs.get(r.name)?.classify, r.features.map((f) => f.name), 'feature');
    return classify === undefined ? r : { ...r, classify };
  });
  const datasetSpecs = byName<DatasetSpec>(spec.datasets);
  const datasets = project.datasets?.map((d): Dataset => {
    const at = region === undefined ? undefined : (compileRegion(`dataset "${d.name}"`, datasetSpecs.get(d.name)?.region) ?? region);
    return at === undefined ? d : { ...d, region: at };
  });
  const transfers = (spec.transfers ?? []).map((t) => compileTransfer(t, sources));
  return {
    ...project, entities, sources, featureViews, requestViews,
    ...(datasets === undefined ? {} : { datasets }),
    ...(region === undefined ? {} : { region, onlineStore: { region: storeRegion! } }),
    ...(transfers.length > 0 ? { transfers } : {}),
  };
}
