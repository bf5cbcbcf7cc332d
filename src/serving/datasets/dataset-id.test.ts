import { expect, test } from 'vitest';
import type { DatasetManifest } from './build-dataset.js';
import { datasetIdOf, MANIFEST_FIELDS } from './dataset-id.js';

const manifest: DatasetManifest = {
  datasetId: 'ds_x', path: 'train.parquet', format: 'parquet', rowCount: 3,
  spine: { path: 'spine.csv', sha256: 'a'.repeat(64), timestampColumn: 'ts', joinKeys: ['k'] },
  features: ['totals__total'], definitions: { totals: 'h1' }, snapshots: { events: 'events@1' },
  createdAt: '2024-01-01T00:00:00.000Z', timing: { totalMs: 5 },
};

test('a dataset whose manifest states nothing new keeps the id it had before overflows and request errors were part of it', () => {
  // The id this manifest's dataset was given before (contentHash of spine sha256, timestamp column, features, definitions, snapshots, format).
  expect(datasetIdOf(manifest)).toBe('ds_18057e4c5d8ee212');
  expect(datasetIdOf({ ...manifest, overflows: {}, erasedRows: 0, snapshotRewrites: [] })).toBe(datasetIdOf(manifest));
});

test('two builds whose values differ only in cells that overflowed have different ids', () => {
  const one = datasetIdOf({ ...manifest, overflows: { totals__total: 1 } });
  const two = datasetIdOf({ ...manifest, overflows: { totals__total: 2 } });
  expect(new Set([datasetIdOf(manifest), one, two]).size).toBe(3);
});

test('two builds whose request functions failed on different rows have different ids; the reason text (a keyed token per data dir) is not part of it', () => {
  const failed = (rows: number, first: string) => datasetIdOf({ ...manifest, requestErrors: { r__score: { rows, first } } });
  expect(failed(1, 'spine row 2: threw TypeError')).not.toBe(datasetIdOf(manifest));
  expect(failed(2, 'spine row 2: threw TypeError')).not.toBe(failed(1, 'spine row 2: threw TypeError'));
  expect(failed(1, 'spine row 2: threw TypeError (token b)')).toBe(failed(1, 'spine row 2: threw TypeError'));
});

test('where, when and for what a dataset was built is not part of its id', () => {
  const elsewhere: DatasetManifest = {
    ...manifest, datasetId: 'ds_y', path: 'other/train.parquet', rowCount: 3, model: 'fraud-v3', createdAt: '2025-01-01T00:00:00.000Z', timing: { totalMs: 99 },
    spine: { ...manifest.spine, path: 'moved/spine.csv' },
    purges: [{ reason: 'erasure', at: 1, action: 'rewritten', rows: 1 }],
    rebuildOf: { datasetId: 'ds_z', differences: [] },
  };
  expect(datasetIdOf(elsewhere)).toBe(datasetIdOf(manifest));
  expect(Object.entries(MANIFEST_FIELDS).filter(([, role]) => role === 'record').map(([f]) => f).sort()).toEqual(['createdAt', 'model', 'path', 'purges', 'rebuildOf', 'timing']);
});
