export { runSkewJob, SKIP_REASONS, type SkewJobOptions, type SkewReport } from './skew-job.js';
export { ServedRowsComparison } from './compare-served-rows.js';
export { servedRowBatches, SERVED_ROWS_PER_BATCH, type ServedRowBatch, type ServedRowRange } from './read-served-rows.js';
export { servedForm, servedJson, absoluteDifference } from './served-form.js';
export { skewMetrics } from './skew-metrics.js';
