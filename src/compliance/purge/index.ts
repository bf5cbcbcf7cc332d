export { purgeRows, derivedTables } from './purge-rows.js';
export { matchSql, entityColumnsIn, entityKeyParts, keyValueColumnsIn } from './match-sql.js';
export { newestEventOf } from './purge-online.js';
export type { PurgeMatch, PurgeRequest, PurgeReport, StorePurge } from './purge-types.js';
export { endFinishedScrubs, scrubRemovedBytes, SCRUB_PENDING, type RemovedBytesScrub } from './scrub-removed.js';
export { finishPendingDeletions } from './pending-deletions.js';
