export { lmdbOnlineStore } from './lmdb-online-store.js';
export type { LmdbOnlineStoreConfig } from './config.js';
