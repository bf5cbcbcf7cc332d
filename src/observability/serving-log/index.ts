export * from './served-row.js';
export * from './sample-key.js';
export * from './serving-log-writer.js';
export * from './read-serving-log.js';
export * from './serving-log-drops.js';
export * from './serving-log-health.js';
export type { ServingLogDropState } from './drop-tally.js';
export { requestRowSpans, type RequestRowSpans } from './request-row-spans.js';
