import { ValidationError } from '../../errors.js';
import type { ValueStatus } from '../../processing/evaluate-online.js';
import type { Scalar } from '../../processing/entity-state.js';
import type { OnlineFeaturesResponse } from '../online-features.js';

/** The answer formats `POST /v1/features/online` writes: `rows` (the default) or `columnar` (`?format=columnar`). */
export type AnswerFormat = 'rows' | 'columnar';

/** One feature's column in a columnar answer: its values, statuses and ages, in the request's entity order. */
export interface ColumnarResult {
  readonly values: Scalar[];
  readonly statuses: ValueStatus[];
  readonly ageMs: (number | null)[];
}

/**
 * The columnar answer (Feast's shape): the feature names once, then per feature one result with
 * its values, statuses and ages over the entities, in request order. Every other field of the
 * default answer (`asOf`, `views`, `stale`, `errors`, `masked`) is kept as it is; the join key
 * values are not repeated (they are the request's, in its order).
 */
export interface ColumnarAnswer {
  readonly asOf: string;
  readonly metadata: { readonly feature_names: readonly string[] };
  /** Parallel to `metadata.feature_names`. */
  readonly results: readonly ColumnarResult[];
  readonly [field: string]: unknown;
}

/**
 * The answer format a request asks for with its `format` query parameter: `rows` when absent.
 * Anything else is a 400 naming the formats.
 *
 * @example
 * answerFormat({ format: 'columnar' }); // 'columnar'
 */
export function answerFormat(query: unknown): AnswerFormat {
  const format = (query as { format?: unknown } | undefined)?.format;
  if (format === undefined || format === 'rows') return 'rows';
  if (format === 'columnar') return 'columnar';
  throw new ValidationError('BAD_REQUEST', `unknown answer format ${JSON.stringify(format)}; use ?format=columnar (feature names once, one result per feature) or ?format=rows (the default)`);
}

/**
 * An online answer (as the caller may see it: masked) in the columnar format, with the same
 * values, statuses and ages. Each row holds its join keys and then the features in `features`
 * order (how `getOnlineFeatures` builds it), so a row's values are read in one pass, not key by key.
 *
 * @example
 * const columnar = columnarAnswer(response); // columnar.results[f].values[r] === response.rows[r][response.features[f]]
 */
export function columnarAnswer(response: OnlineFeaturesResponse): ColumnarAnswer {
  const { asOf, rows, metadata, features, ...rest } = response;
  const n = rows.length;
  const width = features.length;
  const results: ColumnarResult[] = new Array(width);
  // Filled by push, in row order: packed arrays (JSON.stringify writes holey ones, `new Array(n)`, more slowly).
  for (let f = 0; f < width; f++) results[f] = { values: [], statuses: [], ageMs: [] };
  const names = n === 0 ? [] : Object.keys(rows[0]!);
  const skip = names.length - width;
  // The features are the row's last keys in order unless a name is integer-like (such keys come first): then read by name.
  let inOrder = skip >= 0;
  for (let f = 0; inOrder && f < width; f++) inOrder = names[skip + f] === features[f];
  for (let r = 0; r < n; r++) {
    const row = rows[r]!;
    const values = inOrder ? Object.values(row) : features.map((name) => row[name]!);
    const at = inOrder ? skip : 0;
    const { status, ageMs } = metadata[r]!;
    for (let f = 0; f < width; f++) {
      const result = results[f]!;
      result.values.push(values[at + f]!);
      result.statuses.push(status[f]!);
      result.ageMs.push(ageMs[f]!);
    }
  }
  return { asOf, metadata: { feature_names: features }, results, ...rest };
}
