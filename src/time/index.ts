export { parseDuration, formatDuration } from './duration.js';
export { parseTimestampSql, parseTimestampOrEpochSql, looksLikeEpochSeconds, toIso, EPOCH_UNITS, type EpochUnit } from './timestamp.js';
export {
  windowAt,
  inWindow,
  eventRange,
  withinTtl,
  windowPredicateSql,
  ttlPredicateSql,
  retentionHorizon,
  type TimeWindow,
} from './window.js';
