import { entityKey, type EntityKeyPart, type Project } from '../../definitions/index.js';
import type { FeatureSkew, SkewExample } from '../../storage/metadata/skew-store.js';
import type { MaskEvidence } from './mask-answer.js';
import type { Masker, MaskedColumn } from './masker.js';

/** Skew results as a principal may see them, and what their examples showed of classified data. */
export interface MaskedSkew {
  readonly features: readonly FeatureSkew[];
  /** Undefined when no example holds a classified or masked value. */
  readonly evidence?: MaskEvidence;
  /** Examples shown (for the audit record's row count). */
  readonly examples: number;
}

const shown = (c: MaskedColumn) => c.classified || c.method !== 'clear';

/**
 * Masks the examples of skew results (served and recomputed values, join keys and the entity
 * key built from them) exactly as an online answer of the same feature is masked for the
 * masker's principal; every figure (rates, counts, differences) is left as computed on clear
 * values. Features of no known view keep their examples (the skew job records none for them).
 *
 * @example
 * const { features, evidence } = maskSkewExamples(masker, project, run.features);
 */
export function maskSkewExamples(masker: Masker, project: Project, features: readonly FeatureSkew[]): MaskedSkew {
  const evidence: Record<string, MaskedColumn['method']> = {};
  let examples = 0;
  const masked = features.map((f) => {
    if (f.examples.length === 0) return f;
    const view = project.featureViews.find((v) => f.feature.startsWith(`${v.name}__`) && v.features.some((x) => `${v.name}__${x.name}` === f.feature));
    if (!view) return f;
    const feature = view.features.find((x) => `${view.name}__${x.name}` === f.feature)!;
    const value = masker.feature(view.name, feature.name, feature.valueType);
    const keys = view.joinKeys.map((k) => masker.key(view.name, k, view.columnTypes[k] ?? 'string'));
    for (const c of [value, ...keys]) if (shown(c)) evidence[c.name] = c.method;
    examples += f.examples.length;
    const keysMasked = keys.some((k) => k.method !== 'clear');
    if (value.method === 'clear' && !keysMasked) return f;
    return {
      ...f,
      examples: f.examples.map((e): SkewExample => {
        const maskedKeys = keysMasked ? Object.fromEntries(Object.entries(e.keys).map(([k, v]) => [k, masker.value(keys.find((c) => c.name === k) ?? keys[0]!, v)])) : e.keys;
        return {
          ...e,
          keys: maskedKeys,
          entityKey: keysMasked ? entityKey(view.joinKeys.map((k) => maskedKeys[k] as EntityKeyPart)) : e.entityKey,
          online: masker.value(value, e.online),
          offline: masker.value(value, e.offline),
        };
      }),
    };
  });
  return { features: masked, examples, ...(Object.keys(evidence).length === 0 ? {} : { evidence: { columns: evidence } }) };
}
