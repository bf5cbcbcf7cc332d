import { stableStringify } from './hash.js';
import type { DefinitionChange } from './plan-changes.js';
import { didYouMean } from './suggest.js';
import { PII_LEVELS } from './compliance-types.js';
import { MASK_METHODS, type MaskRule, type MaskSpec } from './masking-types.js';
import { fail } from './validate-names.js';

const ROLE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Declares how data is shown to principals with a role: features and columns selected by their
 * classification (`pii` levels, `tags`) or named (`features`) are masked `with` a method. Every
 * rule that applies to a value counts and the strictest wins (`null`, `hash`, `last4`, `year`,
 * then `clear`); a `"*"` rule applies to everyone. Classified data no rule covers is masked by
 * default: `direct` by hash, `sensitive` to null (`quasi` stays clear). See docs/compliance-masking.md.
 *
 * @example
 * defineProject({ ..., masking: [
 *   mask({ role: 'analyst', pii: ['direct', 'sensitive'], with: 'hash' }),
 *   mask({ role: 'support', features: ['profile:phone'], with: 'last4' }),
 *   mask({ role: 'fraud-model', pii: 'direct', with: 'clear' }),
 *   mask({ role: '*', pii: 'sensitive', with: 'null' }),
 * ] });
 */
export function mask(options: Omit<MaskSpec, 'kind'>): MaskSpec {
  return Object.freeze({ kind: 'mask', ...options });
}

/** What a rule's `features` may name: each view's name and feature names (feature and request views). */
export type MaskableViews = ReadonlyMap<string, { readonly features: readonly { readonly name: string }[] }>;

function compileRule(spec: MaskSpec, index: number, views: MaskableViews): MaskRule {
  const where = `masking[${index}]`;
  if (spec?.kind !== 'mask') fail(`${where}: each entry must be built with mask({ role, pii | tags | features, with })`);
  if (typeof spec.role !== 'string' || (spec.role !== '*' && !ROLE.test(spec.role))) fail(`${where}: role ${JSON.stringify(spec.role)} is not a role name (letters, digits, ".", "_", ":" and "-") or "*" for everyone`);
  const at = `${where} (role "${spec.role}")`;
  if (!MASK_METHODS.includes(spec.with)) fail(`${at}: with ${JSON.stringify(spec.with)} is not a masking method; use one of ${MASK_METHODS.map((m) => `"${m}"`).join(', ')}${didYouMean(String(spec.with), MASK_METHODS)}`);
  const pii = spec.pii === undefined ? undefined : typeof spec.pii === 'string' ? [spec.pii] : spec.pii;
  if (pii !== undefined && (!Array.isArray(pii) || pii.length === 0 || pii.some((l) => !(PII_LEVELS as readonly string[]).includes(l)))) {
    fail(`${at}: pii must be one of ${PII_LEVELS.map((l) => `"${l}"`).join(', ')} or a list of them, not ${JSON.stringify(spec.pii)}`);
  }
  if (spec.tags !== undefined && (!Array.isArray(spec.tags) || spec.tags.length === 0 || spec.tags.some((t) => typeof t !== 'string' || t === ''))) fail(`${at}: tags must be a non-empty list of tag names, not ${JSON.stringify(spec.tags)}`);
  let features: string[] | undefined;
  if (spec.features !== undefined) {
    if (!Array.isArray(spec.features) || spec.features.length === 0) fail(`${at}: features must be a non-empty list of "view:feature" names or views`);
    features = [];
    for (const entry of spec.features) {
      if (typeof entry === 'string') {
        const [viewName = '', featureName = ''] = entry.split(':');
        const view = views.get(viewName);
        if (!view) fail(`${at}: "${entry}" names view "${viewName}", which is not in the project${didYouMean(viewName, views.keys())}`);
        if (!view.features.some((f) => f.name === featureName)) fail(`${at}: view "${viewName}" has no feature "${featureName}"${didYouMean(featureName, view.features.map((f) => f.name))}`);
        features.push(`${viewName}:${featureName}`);
      } else {
        const view = views.get((entry as { name?: string })?.name ?? '');
        if (!view) fail(`${at}: view "${String((entry as { name?: unknown })?.name)}" is not in the project's featureViews or requestViews`);
        features.push(...view.features.map((f) => `${(entry as { name: string }).name}:${f.name}`));
      }
    }
  }
  if (pii === undefined && spec.tags === undefined && features === undefined) fail(`${at}: say what it masks: pii: "direct" (a level or a list), tags: ["contact"], or features: ["view:feature"]`);
  return {
    role: spec.role,
    ...(pii === undefined ? {} : { pii: [...pii] }),
    ...(spec.tags === undefined ? {} : { tags: [...spec.tags] }),
    ...(features === undefined ? {} : { features }),
    with: spec.with,
  };
}

/**
 * Validates the project's masking rules: roles, methods, levels, and the features they name
 * (a did-you-mean for a mistyped one). Throws a `DefinitionError` naming the rule and the fix.
 */
export function compileMasking(specs: readonly MaskSpec[], views: MaskableViews): MaskRule[] {
  return specs.map((spec, i) => compileRule(spec, i, views));
}

function byRole(rules: readonly MaskRule[] | undefined): Map<string, MaskRule[]> {
  const roles = new Map<string, MaskRule[]>();
  for (const rule of rules ?? []) roles.set(rule.role, [...(roles.get(rule.role) ?? []), rule]);
  return roles;
}

/** Masking changes for `plan` and `apply`, one per role whose rules are added, changed or removed (nothing to rematerialize). */
export function maskingChanges(before: readonly MaskRule[] | undefined, after: readonly MaskRule[] | undefined): DefinitionChange[] {
  const old = byRole(before);
  const next = byRole(after);
  const describe = (rules: readonly MaskRule[]) => rules.map((r) => `${[r.pii && `pii ${r.pii.join('|')}`, r.tags && `tags ${r.tags.join('|')}`, r.features && `features ${r.features.join(', ')}`].filter(Boolean).join(', ')} with ${r.with}`);
  const changes: DefinitionChange[] = [];
  for (const [role, rules] of next) {
    const was = old.get(role);
    if (was === undefined) changes.push({ action: 'add', kind: 'masking', name: role, details: describe(rules) });
    else if (stableStringify(was) !== stableStringify(rules)) changes.push({ action: 'change', kind: 'masking', name: role, details: describe(rules) });
  }
  for (const role of old.keys()) if (!next.has(role)) changes.push({ action: 'remove', kind: 'masking', name: role });
  return changes;
}
