export * from './types.js';
export { entity, batchSource, featureView, featureService, field, count, sum, avg, min, max, last, countDistinct } from './builders.js';
export type { WindowOptions } from './builders.js';
export { compileProject, defineProject } from './compile-project.js';
export { contentHash, featureSignature, stableStringify } from './hash.js';
export { didYouMean } from './suggest.js';
export { featureColumn, resolveFeatures, longestWindowMs, type ResolvedFeatures, type ViewSelection } from './resolve-features.js';
export { planChanges, assertApplicable, type DefinitionChange, type ChangeAction } from './plan-changes.js';
