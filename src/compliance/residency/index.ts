export { auditTransfers, enforceResidency, type ResidencyOptions } from './enforce-residency.js';
export { regionMatches, residencyFlows, type ResidencyFlow } from './residency-flows.js';
export { checkDatasetResidency, type DatasetResidency } from './dataset-residency.js';
