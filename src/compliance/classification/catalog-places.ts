import type { PiiLevel, Project } from '../../definitions/index.js';
import type { DatasetRecord } from '../../storage/metadata/metadata-store.js';
import { isClassified, type Catalog, type CatalogEntry } from './catalog.js';

/** One place classified data lives, as `sluice catalog` lists it. */
export interface ClassifiedPlace {
  /** `source-column`, `transform-column`, `entity`, `key-column`, `feature`, `request-feature`, `service-feature`, `dataset-column`, `online-table`, `built-dataset`, `serving-log`, `durable-log`, `dead-letters`, `quarantine`. */
  readonly place: string;
  readonly id: string;
  readonly level?: PiiLevel;
  readonly tags: readonly string[];
  readonly derivedFrom: readonly string[];
  /** The columns it holds (stores: online tables, built datasets, logs). */
  readonly columns?: readonly string[];
  /** An override's reason, a declassification, a count of rows held, a file, a region. */
  readonly note?: string;
  readonly declassified?: true;
}

/** What the stores hold now, for the places that exist only once data has arrived. */
export interface StoredData {
  readonly datasets: readonly DatasetRecord[];
  /** Dead letters per source. */
  readonly deadLetters: Readonly<Record<string, number>>;
  /** Held quarantined batches per source or transform. */
  readonly quarantined: Readonly<Record<string, number>>;
}

const RANK: Readonly<Record<PiiLevel, number>> = { quasi: 1, direct: 2, sensitive: 3 };

/** The highest level, every tag and origin of a store's classified columns. */
function store(place: string, id: string, entries: readonly CatalogEntry[], note?: string): ClassifiedPlace | undefined {
  const held = entries.filter(isClassified);
  if (held.length === 0) return undefined;
  const level = held.map((e) => e.level).filter((l): l is PiiLevel => l !== undefined).sort((a, b) => RANK[b] - RANK[a])[0];
  return {
    place, id, ...(level === undefined ? {} : { level }),
    tags: [...new Set(held.flatMap((e) => e.tags))].sort(),
    derivedFrom: [...new Set(held.flatMap((e) => e.derivedFrom))].sort(),
    columns: held.map((e) => e.column ?? e.owner),
    ...(note === undefined ? {} : { note }),
  };
}

/**
 * Every place classified data lives: the catalog's entries (source and transform columns,
 * entities, key columns, features, services, declared datasets), then the stores that hold
 * them: each view's online table, each built dataset of the dataset registry, each sampled
 * serving log, the durable log of classified streamed sources, and the dead letters and
 * quarantined batches of classified sources. With
 * `piiOnly`, only places holding a personal-data level; otherwise also tags-only places and
 * declassified ones (with their reasons).
 *
 * @example
 * classifiedPlaces(project, catalog, { datasets, deadLetters, quarantined }, { piiOnly: true });
 */
export function classifiedPlaces(project: Project, catalog: Catalog, stored: StoredData, options: { readonly piiOnly: boolean }): ClassifiedPlace[] {
  const places: ClassifiedPlace[] = catalog.entries().map((e) => ({
    place: e.place, id: e.id, ...(e.level === undefined ? {} : { level: e.level }), tags: e.tags, derivedFrom: e.derivedFrom,
    ...(e.declassified ? { declassified: true as const, note: `declassified: ${e.reason}` } : e.reason === undefined ? {} : { note: `override: ${e.reason}` }),
  }));
  const push = (p: ClassifiedPlace | undefined) => {
    if (p !== undefined) places.push(p);
  };
  const viewEntries = (view: string): CatalogEntry[] => {
    const v = project.featureViews.find((f) => f.name === view);
    if (v === undefined) return [];
    return [...v.joinKeys.map((k) => catalog.keyColumn(v.name, k)), ...v.features.map((f) => catalog.feature(v.name, f.name))].filter((e): e is CatalogEntry => e !== undefined);
  };
  for (const view of project.featureViews) push(store('online-table', `online:${view.name}`, viewEntries(view.name), view.region === undefined ? undefined : `online store (${view.region})`));
  for (const dataset of stored.datasets) {
    const columns = dataset.features.flatMap((column) => {
      const [view = '', feature = ''] = column.split('__');
      const e = catalog.feature(view, feature);
      return e === undefined ? [] : [{ ...e, column }];
    });
    const keys = Object.keys(dataset.definitions).flatMap((view) => viewEntries(view).filter((e) => e.place === 'key-column'));
    push(store('built-dataset', `built:${dataset.id}`, [...new Map([...keys, ...columns].map((e) => [e.column, e])).values()], dataset.path));
  }
  for (const service of project.featureServices) {
    if (service.log === undefined) continue;
    const entries = service.features.map((ref) => catalog.feature(ref.view, ref.feature)).filter((e): e is CatalogEntry => e !== undefined);
    const keys = [...new Set(service.features.map((r) => r.view))].flatMap((v) => viewEntries(v).filter((e) => e.place === 'key-column'));
    push(store('serving-log', `serving-log:${service.name}`, [...keys, ...entries], `sample rate ${service.log.sampleRate}`));
  }
  for (const source of project.sources) {
    const entries = Object.keys(source.schema).map((c) => catalog.column(source.name, c)).filter((e): e is CatalogEntry => e !== undefined);
    // Streamed events wait in the durable log until the lake and every online table hold them.
    if (source.kind === 'stream' || source.kind === 'cdc') push(store('durable-log', `durable-log:${source.name}`, entries, 'streamed events until committed to the lake'));
    const dead = stored.deadLetters[source.name] ?? 0;
    if (dead > 0) push(store('dead-letters', `dead-letters:${source.name}`, entries, `${dead} rejected row(s) kept raw`));
    const held = stored.quarantined[source.name] ?? 0;
    if (held > 0) push(store('quarantine', `quarantine:${source.name}`, entries, `${held} held batch(es)`));
  }
  return places.filter((p) => (options.piiOnly ? p.level !== undefined : p.level !== undefined || p.tags.length > 0 || p.declassified));
}
