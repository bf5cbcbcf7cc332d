import { contentHash } from '../../definitions/index.js';
import type { DatasetManifest } from './build-dataset.js';

/**
 * What each field of a manifest is to the dataset id: `content` (it changes the dataset's values,
 * or states something about them: part of the id), `derived` (decided by content fields, so it
 * adds nothing), or `record` (where, when and for what the dataset was built, and its history:
 * never part of the id). Every field is listed: a new manifest field must be classified here.
 */
export const MANIFEST_FIELDS: Readonly<Record<keyof DatasetManifest, 'content' | 'derived' | 'record'>> = {
  datasetId: 'derived',
  path: 'record',
  format: 'content',
  rowCount: 'derived',
  spine: 'content',
  replaceColumns: 'content',
  asKnown: 'content',
  model: 'record',
  features: 'content',
  definitions: 'content',
  snapshots: 'content',
  createdAt: 'record',
  timing: 'record',
  requestErrors: 'content',
  overflows: 'content',
  masked: 'content',
  snapshotRewrites: 'content',
  erasedRows: 'content',
  purges: 'record',
  rebuildOf: 'record',
};

/** The fields of a manifest the id is derived from (see `MANIFEST_FIELDS`). */
export type DatasetContent = Pick<DatasetManifest, 'format' | 'spine' | 'replaceColumns' | 'asKnown' | 'features' | 'definitions' | 'snapshots' | 'requestErrors' | 'overflows' | 'masked' | 'snapshotRewrites' | 'erasedRows'>;

/**
 * The id of a dataset: a content hash of what its manifest states about its values (see
 * `MANIFEST_FIELDS`), so same inputs, same id, and two datasets whose values differ never share
 * one. Of the spine, its content (sha256), not its path; of `spine.joinKeys`, nothing (the
 * features decide them). A field absent (or empty) adds nothing, so the datasets built before it
 * existed keep their ids.
 *
 * @example
 * const datasetId = datasetIdOf(manifest); // 'ds_3f9a...'
 */
export function datasetIdOf(content: DatasetContent): string {
  const { spine, snapshotRewrites } = content;
  const identity = {
    spine: spine.sha256, timestampColumn: spine.timestampColumn, timestampUnit: spine.timestampUnit,
    replaceColumns: content.replaceColumns || undefined, asKnown: content.asKnown || undefined,
    features: content.features, definitions: content.definitions, snapshots: content.snapshots, format: content.format,
    masked: content.masked,
    rewrites: snapshotRewrites === undefined || snapshotRewrites.length === 0 ? undefined : snapshotRewrites.map((r) => [r.snapshotId, r.reason, r.at]),
    erasedRows: content.erasedRows || undefined,
    overflows: nonEmpty(content.overflows),
    // Of request errors, the rows per column (null there): the first reason holds a token keyed per data dir.
    requestErrors: nonEmpty(content.requestErrors && Object.fromEntries(Object.entries(content.requestErrors).map(([column, e]) => [column, e.rows]))),
  };
  return `ds_${contentHash(identity)}`;
}

const nonEmpty = <T extends object>(value: T | undefined): T | undefined => (value === undefined || Object.keys(value).length === 0 ? undefined : value);
