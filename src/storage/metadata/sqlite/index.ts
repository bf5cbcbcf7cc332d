export { sqliteMetadataStore } from './sqlite-metadata-store.js';
export type { SqliteMetadataConfig } from './config.js';
export { availableSqliteDrivers, type SqliteDriverName } from './sqlite-driver.js';
