export { parseDuration, formatDuration } from './duration.js';
export { parseTimestampSql, toIso } from './timestamp.js';
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
