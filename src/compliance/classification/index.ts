export { classificationCatalog, isClassified, type Catalog, type CatalogEntry, type CatalogPlace } from './catalog.js';
export { parsedColumnLineage, type InputColumn } from './parsed-lineage.js';
