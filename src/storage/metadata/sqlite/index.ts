export { sqliteMetadataStore } from './sqlite-metadata-store.js';
export type { SqliteMetadataConfig } from './config.js';
