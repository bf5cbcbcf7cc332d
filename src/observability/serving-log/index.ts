export * from './served-row.js';
export * from './sample-key.js';
export * from './serving-log-writer.js';
export * from './read-serving-log.js';
