export { runSkewJob, SKIP_REASONS, type SkewJobOptions, type SkewReport } from './skew-job.js';
export { ServedRowsComparison } from './compare-served-rows.js';
export { servedForm, servedJson, absoluteDifference } from './served-form.js';
export { skewMetrics } from './skew-metrics.js';
