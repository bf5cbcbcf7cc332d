export { parseDuration, formatDuration } from './duration.js';
export { isoTimestampSql, parseTimestampSql, looksLikeEpochSeconds, toIso, EPOCH_UNITS, type EpochUnit } from './timestamp.js';
export { isCalendarDay, parseTimestampText, parseTimestampTextSql } from './timestamp-text.js';
export {
  windowAt,
  windowStartAt,
  floorToHop,
  windowReachMs,
  inWindow,
  eventRange,
  firstAtOrAfter,
  withinTtl,
  windowPredicateSql,
  ttlPredicateSql,
  retentionHorizon,
  tiledUntil,
  rawEventsHorizon,
  type TimeWindow,
  type WindowSpec,
} from './window.js';
