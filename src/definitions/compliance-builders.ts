import type { ClassificationSpec, PiiLevel, TransferSpec } from './compliance-types.js';

/**
 * Classifies a column (or a feature, overriding what it inherits) as personal data of a level:
 * `direct`, `quasi` or `sensitive`, with optional free tags. A `reason` is mandatory when the
 * classification lowers what a feature inherits.
 *
 * @example
 * batchSource({ name: 'customers', schema, timestamp: 'ts',
 *   classify: { email: pii('direct', { tags: ['contact'] }), zip: pii('quasi') } });
 */
export function pii(level: PiiLevel, options: { tags?: readonly string[]; reason?: string } = {}): ClassificationSpec {
  return Object.freeze({
    kind: 'classification', level,
    ...(options.tags === undefined ? {} : { tags: Object.freeze([...options.tags]) }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
  });
}

/**
 * Tags a column with free labels and no personal-data level (`free-text`, `financial`).
 *
 * @example
 * classify: { note: tags('free-text') }
 */
export function tags(...names: string[]): ClassificationSpec {
  return Object.freeze({ kind: 'classification', tags: Object.freeze([...names]) });
}

/**
 * Declares that a feature (or a transform column) holds no personal data although it is
 * computed from classified columns; the reason is recorded in the catalog.
 *
 * @example
 * count('email', { window: '30d', classify: declassify('a count over >= 30 events identifies no one') });
 */
export function declassify(reason: string): ClassificationSpec {
  return Object.freeze({ kind: 'classification', declassify: true, reason });
}

/**
 * A transfer policy: the data of `sources` (and everything computed from it) may move from
 * region `from` to region `to` for `purpose`. Regions match exactly or by prefix (`eu` matches
 * `eu-west-1`). `apply` records each transfer it lets through in the audit trail.
 *
 * @example
 * transfers: [allowTransfer({ from: 'eu', to: 'us', purpose: 'fraud-model', sources: [payments] })]
 */
export function allowTransfer(options: Omit<TransferSpec, 'kind'>): TransferSpec {
  return Object.freeze({ kind: 'transfer', ...options, sources: Object.freeze([...options.sources]) });
}
