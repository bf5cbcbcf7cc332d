/**
 * The public entry of the `sluice` package: the definitions API and the error model.
 * Project files (`sluice.config.ts`) import from here.
 */
export * from './definitions/index.js';
export * from './errors.js';
export { parseDuration, formatDuration, toIso } from './time/index.js';
export { checkDeterministic } from './processing/request-features.js';
