export { classificationCatalog, isClassified, type Catalog, type CatalogEntry, type CatalogPlace } from './catalog.js';
export { transformColumnLineage, type InputColumn } from './transform-lineage.js';
