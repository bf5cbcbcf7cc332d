import { DefinitionError } from '../errors.js';
import { entityDetails, requestViewDetails, serviceDetails, sourceDetails, transformDetails, viewDetails, type ChangeDetails } from './change-details.js';
import { stableStringify } from './hash.js';
import { maskingChanges } from './compile-masking.js';
import { accessChange } from './compile-access.js';
import type { AlertChannel, Dataset, Entity, FeatureService, FeatureView, Project, RequestView, Schedule, Source, Transfer, Transform } from './types.js';

export type ChangeAction = 'add' | 'change' | 'remove';

export interface DefinitionChange {
  readonly action: ChangeAction;
  readonly kind: 'entity' | 'source' | 'featureView' | 'featureService' | 'transform' | 'requestView' | 'alert' | 'schedule' | 'dataset' | 'masking' | 'transfer' | 'access';
  readonly name: string;
  /** For a change, what changes inside the definition, e.g. `feature amount_sum_24h window 24h -> 48h`. */
  readonly details?: readonly string[];
  /** Feature views: whether its values change, so its online table must be rebuilt (`sluice materialize`). */
  readonly rematerialize?: boolean;
  /** What users of the definition see change, e.g. `dataset column txn_stats__n removed`. */
  readonly consequences?: readonly string[];
  /** Why `apply` refuses this change, and what to do instead. */
  readonly refused?: readonly string[];
}

type Definition = Entity | Source | FeatureView | FeatureService | Transform | RequestView | AlertChannel | Schedule | Dataset | Transfer;

/** Who a schedule's job runs as, for plans: `job:<name> (roles a, b)`, or `scheduler` when it names no identity. */
const runsAs = (s: Schedule): string => (s.as ? `job:${s.as.name} (roles ${s.as.roles.join(', ')})` : 'scheduler');

const KINDS = [
  ['entity', 'entities', (a: Definition, b: Definition) => entityDetails(a as Entity, b as Entity)],
  ['source', 'sources', (a: Definition, b: Definition) => sourceDetails(a as Source, b as Source)],
  ['featureView', 'featureViews', (a: Definition, b: Definition) => viewDetails(a as FeatureView, b as FeatureView)],
  ['featureService', 'featureServices', (a: Definition, b: Definition) => serviceDetails(a as FeatureService, b as FeatureService)],
  ['transform', 'transforms', (a: Definition, b: Definition) => transformDetails(a as Transform, b as Transform)],
  ['requestView', 'requestViews', (a: Definition, b: Definition) => requestViewDetails(a as RequestView, b as RequestView)],
  // An alert channel changes no data: its settings are shown as changed, nothing to rematerialize.
  ['alert', 'alerts', () => ({ details: ['alert channel settings changed'], consequences: [], refused: [] })],
  // Who a job runs as is a security change: named in the plan.
  ['schedule', 'schedules', (a: Definition, b: Definition): ChangeDetails => ({ details: runsAs(a as Schedule) === runsAs(b as Schedule) ? [] : [`runs as ${runsAs(a as Schedule)} -> ${runsAs(b as Schedule)}`], consequences: [], refused: [] })],
  ['dataset', 'datasets', (): ChangeDetails => ({ details: [], consequences: [], refused: [] })],
  // A transfer policy changes no data: named by its regions and purpose, its sources listed as changed.
  ['transfer', 'transfers', (a: Definition, b: Definition): ChangeDetails => ({ details: [`sources ${(a as Transfer).sources.join(', ')} -> ${(b as Transfer).sources.join(', ')}`], consequences: [], refused: [] })],
] as const;

function changed(kind: DefinitionChange['kind'], before: Definition, after: Definition, details: ChangeDetails): DefinitionChange {
  return {
    action: 'change', kind, name: after.name,
    details: details.details.length > 0 ? details.details : ['definition changed'],
    ...(kind === 'featureView' ? { rematerialize: (before as FeatureView).hash !== (after as FeatureView).hash } : {}),
    consequences: details.consequences,
    ...(details.refused.length > 0 ? { refused: details.refused } : {}),
  };
}

/**
 * What applying `next` over `current` (the last applied registry version, if any) would add,
 * change and remove, like `terraform plan`: for each change, what changes inside the definition,
 * whether a view must be rematerialized (its value hash changed), the consequences for datasets,
 * and the changes `apply` refuses (a source column removed or retyped, a timestamp column moved).
 *
 * @example
 * planChanges(undefined, project); // every definition as "add"
 */
export function planChanges(current: Project | undefined, next: Project): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  for (const [kind, key, describe] of KINDS) {
    const before = new Map<string, Definition>((current?.[key] ?? []).map((d: Definition) => [d.name, d]));
    for (const after of (next[key] ?? []) as readonly Definition[]) {
      const old = before.get(after.name);
      if (old === undefined) changes.push({ action: 'add', kind, name: after.name, ...(kind === 'featureView' ? { rematerialize: true } : {}) });
      else if (stableStringify(old) !== stableStringify(after)) changes.push(changed(kind, old, after, describe(old, after)));
    }
    for (const [name, old] of before) {
      if ((next[key] ?? []).some((d: Definition) => d.name === name)) continue;
      const columns = kind === 'featureView' || kind === 'requestView' ? (old as FeatureView).features.map((f) => `dataset column ${name}__${f.name} removed`) : [];
      changes.push({ action: 'remove', kind, name, ...(columns.length > 0 ? { consequences: columns } : {}) });
    }
  }
  changes.push(...maskingChanges(current?.masking, next.masking));
  const access = accessChange(current?.access ?? [], next.access ?? []);
  return access ? [...changes, access] : changes;
}

/**
 * Throws a DefinitionError listing every change `apply` refuses, with what to do instead.
 *
 * @example
 * assertApplicable(planChanges(current?.project, project));
 */
export function assertApplicable(changes: readonly DefinitionChange[]): void {
  const refused = changes.flatMap((c) => c.refused ?? []);
  if (refused.length > 0) throw new DefinitionError('DEFINITION_INVALID', `cannot apply:\n${refused.map((r) => `  ${r}`).join('\n')}`, { details: { refused } });
}
