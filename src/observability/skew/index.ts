export { runSkewJob, SKIP_REASONS, type SkewJobOptions, type SkewReport } from './skew-job.js';
export { compareServedRows } from './compare-served-rows.js';
export { readServedRows, type ServedRowsOfService } from './read-served-rows.js';
export { servedForm, servedJson, absoluteDifference } from './served-form.js';
export { skewMetrics } from './skew-metrics.js';
