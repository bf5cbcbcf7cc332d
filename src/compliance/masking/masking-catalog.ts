import type { Project } from '../../definitions/index.js';
import { classificationCatalog, isClassified, type CatalogEntry } from '../classification/index.js';
import { UNCLASSIFIED, type ClassificationLookup, type Classified } from './classification-lookup.js';

const catalogs = new WeakMap<Project, ClassificationLookup>();

const classified = (entry: CatalogEntry | undefined): Classified | undefined =>
  isClassified(entry) ? { ...(entry.level === undefined ? {} : { pii: entry.level }), tags: entry.tags } : undefined;

/**
 * The classification masking reads for a project: the classification catalog's
 * (`classificationCatalog`, propagated through lineage; a declassified place is not classified),
 * built once per compiled project.
 */
export function maskingCatalog(project: Project): ClassificationLookup {
  let known = catalogs.get(project);
  if (!known) {
    const catalog = classificationCatalog(project);
    known = catalog.entries().some((e) => isClassified(e))
      ? {
          empty: false,
          feature: (view, feature) => classified(catalog.feature(view, feature)),
          column: (source, column) => classified(catalog.column(source, column)),
          keyColumn: (view, column) => classified(catalog.keyColumn(view, column)),
        }
      : UNCLASSIFIED;
    catalogs.set(project, known);
  }
  return known;
}
