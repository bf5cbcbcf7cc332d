import type { ColumnType, MaskMethod, Project } from '../../definitions/index.js';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import type { Masker, MaskedColumn } from './masker.js';

/** What a masked read shows, for the audit trail: which classified or masked columns, and how. No values. */
export interface MaskEvidence {
  /** Output column to method, for every classified or masked column returned (`clear` included). */
  readonly columns: Readonly<Record<string, MaskMethod>>;
}

/** An online answer as the principal may see it, and what it showed of classified data. */
export interface MaskedAnswer {
  /** The answer with masked values (`masked` names each masked column and its method); the same object when nothing is masked. */
  readonly response: OnlineFeaturesResponse & { readonly masked?: Readonly<Record<string, MaskMethod>> };
  /** Undefined when the answer holds no classified or masked column. */
  readonly evidence?: MaskEvidence;
}

function valueType(project: Project, view: string, feature: string): ColumnType | undefined {
  const found = project.featureViews.find((v) => v.name === view) ?? project.requestViews.find((v) => v.name === view);
  return found?.features.find((f) => f.name === feature)?.valueType;
}

// Answers of one service share their `features` array (the serving plan's): their columns are worked out once per masker.
const plans = new WeakMap<Masker['plan'], WeakMap<readonly string[], readonly MaskedColumn[]>>();

/** The answer's classified or masked columns for this masker; entity key columns echo the request and are not masked. */
export function answerColumns(masker: Masker, project: Project, features: readonly string[]): readonly MaskedColumn[] {
  let byFeatures = plans.get(masker.plan);
  if (!byFeatures) plans.set(masker.plan, (byFeatures = new WeakMap()));
  let columns = byFeatures.get(features);
  if (!columns) {
    columns = features.flatMap((name) => {
      const at = name.indexOf('__');
      const view = name.slice(0, at);
      const feature = name.slice(at + 2);
      const type = valueType(project, view, feature);
      if (at < 0 || type === undefined) return [];
      const column = masker.feature(view, feature, type);
      return column.classified || column.method !== 'clear' ? [column] : [];
    });
    byFeatures.set(features, columns);
  }
  return columns;
}

/**
 * Masks an online answer for the masker's principal: each masked column's values in every row
 * (new row objects: the caller's answer, which the serving log keeps, is left clear), and
 * `masked` listing them. Statuses and ages are those of the underlying values.
 *
 * @example
 * const { response, evidence } = maskAnswer(masker, project, answer);
 */
export function maskAnswer(masker: Masker, project: Project, response: OnlineFeaturesResponse): MaskedAnswer {
  const columns = answerColumns(masker, project, response.features);
  if (columns.length === 0) return { response };
  const evidence = { columns: Object.fromEntries(columns.map((c) => [c.name, c.method])) };
  const masking = columns.filter((c) => c.method !== 'clear');
  if (masking.length === 0) return { response, evidence };
  const rows = response.rows.map((row) => {
    const copy = { ...row };
    for (const column of masking) copy[column.name] = masker.value(column, row[column.name]) as (typeof row)[string];
    return copy;
  });
  return { response: { ...response, rows, masked: Object.fromEntries(masking.map((c) => [c.name, c.method])) }, evidence };
}
