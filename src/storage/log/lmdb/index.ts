export { lmdbEventLog, type LmdbEventLogConfig } from './lmdb-event-log.js';
