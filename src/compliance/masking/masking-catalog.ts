import type { Project } from '../../definitions/index.js';
import { UNCLASSIFIED, type ClassificationLookup } from './classification-lookup.js';

/**
 * The classification masking reads for a project: the classification catalog's (see
 * `src/compliance/classification/`), one per compiled project.
 */
export function maskingCatalog(_project: Project): ClassificationLookup {
  return UNCLASSIFIED;
}
