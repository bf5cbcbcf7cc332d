import { featureColumn, resolveFeatures, transformOrder, type Classification, type FeatureRef, type PiiLevel, type Project } from '../../definitions/index.js';
import { DefinitionError } from '../../errors.js';
import { valueInputs } from './parsed-lineage.js';

/** What kind of place a catalog entry describes. */
export type CatalogPlace = 'source-column' | 'transform-column' | 'entity' | 'key-column' | 'feature' | 'request-feature' | 'service-feature' | 'dataset-column';

/**
 * Where one classified (or declassified) piece of data lives, and why it is classified so.
 * `id` names the place: `source:customers.email`, `transform:enriched.email`, `entity:customer`,
 * `key:profile.customer_id` (a view's join key column, in its online table and outputs),
 * `feature:profile.email`, `service:fraud_v1.profile__email`, `dataset:train.customer_id`.
 */
export interface CatalogEntry {
  readonly place: CatalogPlace;
  readonly id: string;
  /** The definition it belongs to (source, transform, view, service, dataset or entity name). */
  readonly owner: string;
  /** The column or feature (the output column for services and datasets); absent for an entity. */
  readonly column?: string;
  readonly level?: PiiLevel;
  /** Free tags, sorted (empty when none). */
  readonly tags: readonly string[];
  /** The declarations it comes from (`source:customers.email`); its own id when declared here. */
  readonly derivedFrom: readonly string[];
  /** A definition here overrides what it inherits (its reason, when given, is `reason`). */
  readonly overridden?: true;
  /** With `overridden`: the declarations it would have inherited from. */
  readonly overrides?: readonly string[];
  readonly reason?: string;
  /** Declared to hold no personal data despite its inputs (with a reason). */
  readonly declassified?: true;
}

/** Lookups into a project's classification, with everything propagated through lineage. */
export interface Catalog {
  /** A column of a source or of a transform's table. */
  column(source: string, column: string): CatalogEntry | undefined;
  /** A feature of a feature view or a request view. */
  feature(view: string, feature: string): CatalogEntry | undefined;
  /** A column of a declared dataset: `<view>__<feature>` or a join key column. */
  datasetColumn(dataset: string, column: string): CatalogEntry | undefined;
  /** A join key column of a view's entity, as datasets and serving output carry it. */
  keyColumn(view: string, column: string): CatalogEntry | undefined;
  /** Every entry: classified places and declassified ones (with their reasons). */
  entries(): readonly CatalogEntry[];
}

/** Whether an entry holds classified data (a level or a tag), as masking and `catalog --pii` see it. */
export function isClassified(entry: CatalogEntry | undefined): entry is CatalogEntry & ({ level: PiiLevel } | { tags: readonly [string, ...string[]] }) {
  return entry !== undefined && (entry.level !== undefined || entry.tags.length > 0);
}

const RANK: Readonly<Record<PiiLevel, number>> = { quasi: 1, direct: 2, sensitive: 3 };

/** What a place inherits: the highest level, every tag, every origin. */
interface Inherited {
  readonly level?: PiiLevel;
  readonly tags: readonly string[];
  readonly derivedFrom: readonly string[];
}

const NONE: Inherited = { tags: [], derivedFrom: [] };

function combine(parts: readonly (Inherited | undefined)[]): Inherited {
  let level: PiiLevel | undefined;
  const tags = new Set<string>();
  const from = new Set<string>();
  for (const part of parts) {
    if (part === undefined || (part.level === undefined && part.tags.length === 0)) continue;
    if (part.level !== undefined && (level === undefined || RANK[part.level] > RANK[level])) level = part.level;
    for (const t of part.tags) tags.add(t);
    for (const f of part.derivedFrom) from.add(f);
  }
  return { ...(level === undefined ? {} : { level }), tags: [...tags].sort(), derivedFrom: [...from].sort() };
}

/** Whether `declared` lowers `inherited`: a lower (or no) level, or tags dropped. */
function lowers(inherited: Inherited, declared: Classification): boolean {
  if (declared.declassified) return inherited.level !== undefined || inherited.tags.length > 0;
  if (inherited.level !== undefined && (declared.level === undefined || RANK[declared.level] < RANK[inherited.level])) return true;
  return inherited.tags.some((t) => !(declared.tags ?? []).includes(t));
}

const describe = (c: { level?: PiiLevel; tags?: readonly string[] }): string =>
  [c.level === undefined ? undefined : `pii ${c.level}`, ...(c.tags ?? []).map((t) => `tag ${t}`)].filter(Boolean).join(', ') || 'none';

/** The entry of a place that inherits `inherited` and may declare `declared` over it (a reason is required to lower). */
function entry(place: CatalogPlace, id: string, owner: string, column: string | undefined, inherited: Inherited, declared: Classification | undefined, where: string): CatalogEntry | undefined {
  const base = { place, id, owner, ...(column === undefined ? {} : { column }) };
  if (declared === undefined) return inherited.level === undefined && inherited.tags.length === 0 ? undefined : { ...base, ...inherited };
  if (declared.reason === undefined && lowers(inherited, declared)) {
    throw new DefinitionError('DEFINITION_INVALID', `${where}: classify lowers what it inherits (${describe(inherited)}, from ${inherited.derivedFrom.join(', ')}) to ${declared.declassified ? 'none' : describe(declared)}; record why: declassify("...") or pii("quasi", { reason: "..." })`, { details: { place: id, inherited: inherited.derivedFrom } });
  }
  const overridden = inherited.derivedFrom.length > 0 ? { overridden: true as const, overrides: inherited.derivedFrom } : {};
  const reason = declared.reason === undefined ? {} : { reason: declared.reason };
  if (declared.declassified) return { ...base, tags: [], derivedFrom: inherited.derivedFrom, ...overridden, ...reason, declassified: true };
  return { ...base, ...(declared.level === undefined ? {} : { level: declared.level }), tags: declared.tags ?? [], derivedFrom: [id], ...overridden, ...reason };
}

/** Columns the compiled SQL of a derived column reads: the quoted identifiers outside string literals. */
export function derivedReads(sql: string): string[] {
  return [...sql.replace(/'(?:[^']|'')*'/g, "''").matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replaceAll('""', '"'));
}

/**
 * The classification catalog of a compiled project: every place classified data lives, with
 * classification propagated through lineage from where it is declared (source and transform
 * columns, entities) to transform columns (see `parsedColumnLineage`), features (the column
 * a feature reads, or the source columns a derived column reads), request views' features
 * (every feature of their input views), services and declared datasets (their features, and
 * their join key columns: the entity's classification and the key column's). A definition may
 * override what it inherits; lowering it without a reason is a DefinitionError naming the place.
 * One home for the rule: catalog output, masking and residency read it from here.
 *
 * @example
 * const catalog = classificationCatalog(project);
 * catalog.feature('profile', 'email_last')?.level; // 'direct'
 */
export function classificationCatalog(project: Project): Catalog {
  const columns = new Map<string, CatalogEntry>();
  const features = new Map<string, CatalogEntry>();
  const keys = new Map<string, CatalogEntry>();
  const datasets = new Map<string, CatalogEntry>();
  const all: CatalogEntry[] = [];
  const add = (map: Map<string, CatalogEntry>, key: string, e: CatalogEntry | undefined): void => {
    if (e === undefined) return;
    map.set(key, e);
    all.push(e);
  };
  const colKey = (owner: string, column: string) => `${owner}\0${column.toLowerCase()}`;
  const inheritedOf = (e: CatalogEntry | undefined): Inherited => (e === undefined || e.declassified ? NONE : e);
  const sources = new Map(project.sources.map((s) => [s.name, s]));
  const transforms = new Map((project.transforms ?? []).map((t) => [t.name, t]));
  const entities = new Map(project.entities.map((e) => [e.name, e]));
  for (const entity of project.entities) {
    if (entity.classify !== undefined) add(new Map(), `entity\0${entity.name}`, entry('entity', `entity:${entity.name}`, entity.name, undefined, NONE, entity.classify, `entity "${entity.name}"`));
  }
  // Sources first, then transforms in dependency order (a transform's inputs are classified before it).
  const order = [...project.sources.filter((s) => s.kind !== 'transform'), ...transformOrder(project).map((t) => sources.get(t.name)!)];
  for (const source of order) {
    const transform = transforms.get(source.name);
    const parsed = transform?.columnInputs;
    // Without a parsed lineage for every column (SQL DuckDB does not serialize, a project applied before it was stored): every output comes from every input column.
    // An output's value comes from its DIRECT inputs; where the parse could not tell which, from every column of the relations in scope (unresolved candidates).
    const everyInput = () => transform!.inputs.flatMap((i) => Object.keys(sources.get(i)?.schema ?? {}).map((c) => `${i}.${c}`));
    const lineage: Readonly<Record<string, readonly string[]>> = transform === undefined ? {} : Object.keys(source.schema).every((c) => parsed?.[c] !== undefined)
      ? Object.fromEntries(Object.keys(source.schema).map((c) => [c, valueInputs(parsed![c]!)]))
      : Object.fromEntries(Object.keys(source.schema).map((c) => [c, everyInput()]));
    for (const column of Object.keys(source.schema)) {
      const inherited = combine((lineage[column] ?? []).map((ref) => {
        const dot = ref.indexOf('.');
        return inheritedOf(columns.get(colKey(ref.slice(0, dot), ref.slice(dot + 1))));
      }));
      const kind = transform === undefined ? 'source' : 'transform';
      add(columns, colKey(source.name, column), entry(`${kind}-column`, `${kind}:${source.name}.${column}`, source.name, column, inherited, source.classify?.[column], `${kind} "${source.name}", column "${column}"`));
    }
  }
  const columnClass = (source: string, column: string): Inherited => inheritedOf(columns.get(colKey(source, column)));
  for (const view of project.featureViews) {
    for (const feature of view.features) {
      const derived = feature.column === undefined ? undefined : view.derived?.[feature.column];
      const reads = feature.column === undefined ? [] : derived === undefined ? [feature.column] : derivedReads(derived.sql);
      const inherited = combine(reads.map((c) => columnClass(view.source, c)));
      add(features, `${view.name}\0${feature.name}`, entry('feature', `feature:${view.name}.${feature.name}`, view.name, feature.name, inherited, view.classify?.[feature.name], `feature view "${view.name}", feature "${feature.name}"`));
    }
    const entity = entities.get(view.entity);
    for (const key of view.joinKeys) {
      const fromEntity = entity?.classify === undefined || entity.classify.declassified ? undefined : { ...entity.classify, tags: entity.classify.tags ?? [], derivedFrom: [`entity:${entity.name}`] };
      const inherited = combine([fromEntity, columnClass(view.source, key)]);
      if (inherited.derivedFrom.length > 0) add(keys, `${view.name}\0${key.toLowerCase()}`, { place: 'key-column', id: `key:${view.name}.${key}`, owner: view.name, column: key, ...inherited });
    }
  }
  for (const request of project.requestViews) {
    const inputs = request.inputs.flatMap((v) => project.featureViews.find((f) => f.name === v)?.features.map((f) => inheritedOf(features.get(`${v}\0${f.name}`))) ?? []);
    const inherited = combine(inputs);
    for (const feature of request.features) {
      add(features, `${request.name}\0${feature.name}`, entry('request-feature', `feature:${request.name}.${feature.name}`, request.name, feature.name, inherited, request.classify?.[feature.name], `request view "${request.name}", feature "${feature.name}"`));
    }
  }
  const fromRef = (place: CatalogPlace, owner: string, ref: FeatureRef): void => {
    const f = features.get(`${ref.view}\0${ref.feature}`);
    if (f === undefined) return;
    const column = featureColumn(ref);
    const e: CatalogEntry = { ...f, place, id: `${place === 'service-feature' ? 'service' : 'dataset'}:${owner}.${column}`, owner, column };
    if (place === 'dataset-column') add(datasets, `${owner}\0${column.toLowerCase()}`, e);
    else all.push(e);
  };
  for (const service of project.featureServices) for (const ref of service.features) fromRef('service-feature', service.name, ref);
  for (const dataset of project.datasets ?? []) {
    const resolved = resolveFeatures(project, dataset.service !== undefined ? { service: dataset.service } : { features: dataset.features! });
    for (const ref of resolved.refs) fromRef('dataset-column', dataset.name, ref);
    for (const key of resolved.joinKeys) {
      const e = resolved.byView.map((v) => keys.get(`${v.view.name}\0${key.toLowerCase()}`)).find((k) => k !== undefined);
      if (e !== undefined) add(datasets, `${dataset.name}\0${key.toLowerCase()}`, { ...e, place: 'dataset-column', id: `dataset:${dataset.name}.${key}`, owner: dataset.name, column: key });
    }
  }
  return {
    column: (source, column) => columns.get(colKey(source, column)),
    feature: (view, feature) => features.get(`${view}\0${feature}`),
    datasetColumn: (dataset, column) => datasets.get(`${dataset}\0${column.toLowerCase()}`),
    keyColumn: (view, column) => keys.get(`${view}\0${column.toLowerCase()}`),
    entries: () => all,
  };
}
