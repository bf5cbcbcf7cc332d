import { expect, test } from 'vitest';
import type { DriftResult } from '../../storage/metadata/drift-store.js';
import { exportedDriftResults } from './drift-metrics.js';

const result = (subject: string, computedAt: number, service: string | null): DriftResult => ({
  subject, feature: 'stats__amount_avg', metric: 'psi', score: 0.01, warn: 0.1, error: 0.25, severity: 'ok', referenceCount: 1000, currentCount: 1000, computedAt,
  ...(subject.startsWith('dataset:') ? { details: { service } } : {}),
});

// Review rev8: one sluice_drift_score series per dataset ever compared, never removed.
test('the exported drift scores keep every source column but only the newest dataset compared per service', () => {
  const latest = [
    result('dataset:ds_old', 1, 'fraud'), result('dataset:ds_new', 3, 'fraud'), result('dataset:ds_mid', 2, 'fraud'),
    result('dataset:ds_other', 1, 'churn'), result('dataset:ds_all', 1, null), result('source:txns', 1, null),
  ];
  expect(exportedDriftResults(latest).map((r) => r.subject)).toEqual(['dataset:ds_new', 'dataset:ds_other', 'dataset:ds_all', 'source:txns']);
});
