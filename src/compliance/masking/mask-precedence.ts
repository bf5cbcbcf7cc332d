import { MASK_METHODS, type MaskMethod, type MaskRule } from '../../definitions/index.js';
import type { Classified } from './classification-lookup.js';

/**
 * The method for classified data that no rule covers: a `direct` identifier is shown as its keyed
 * hash, `sensitive` data not at all; `quasi` identifiers stay clear (they are what models use;
 * mask them with a rule). A rule that applies replaces the default, so `with: "clear"` grants a
 * role the clear value.
 */
export const DEFAULT_MASK: Readonly<Record<'direct' | 'quasi' | 'sensitive', MaskMethod>> = { direct: 'hash', quasi: 'clear', sensitive: 'null' };

/** The stricter of two methods (see `MASK_METHODS`, strictest first). */
export function stricter(a: MaskMethod, b: MaskMethod): MaskMethod {
  return MASK_METHODS.indexOf(a) <= MASK_METHODS.indexOf(b) ? a : b;
}

/** What a value is to the rules: a feature (`view:feature`) or a source column, and its classification. */
export interface MaskTarget {
  /** `"view:feature"` for a feature; undefined for a source column (rules' `features` never name one). */
  readonly feature?: string;
  readonly classified?: Classified;
}

function applies(rule: MaskRule, roles: readonly string[], target: MaskTarget): boolean {
  if (rule.role !== '*' && !roles.includes(rule.role)) return false;
  if (target.feature !== undefined && rule.features?.includes(target.feature)) return true;
  const level = target.classified?.pii;
  if (level !== undefined && rule.pii?.includes(level)) return true;
  return rule.tags?.some((t) => target.classified?.tags?.includes(t)) === true;
}

/**
 * The one precedence rule: every rule for one of the principal's roles (or `"*"`) that selects
 * the value applies, and the strictest of them wins, so adding a rule never shows more than
 * before (except `clear`, which only replaces the default). With no rule, the default for its
 * classification level ({@link DEFAULT_MASK}); unclassified data no rule names is clear.
 *
 * @example
 * maskMethod(project.masking ?? [], ['analyst'], { feature: 'profile:email', classified: { pii: 'direct' } }); // 'hash'
 */
export function maskMethod(rules: readonly MaskRule[], roles: readonly string[], target: MaskTarget): MaskMethod {
  let method: MaskMethod | undefined;
  for (const rule of rules) {
    if (applies(rule, roles, target)) method = method === undefined ? rule.with : stricter(method, rule.with);
  }
  if (method !== undefined) return method;
  const level = target.classified?.pii;
  return level === undefined ? 'clear' : DEFAULT_MASK[level];
}
