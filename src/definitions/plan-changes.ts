import type { Project } from './types.js';

export type ChangeAction = 'add' | 'change' | 'remove';

export interface DefinitionChange {
  readonly action: ChangeAction;
  readonly kind: 'entity' | 'source' | 'featureView' | 'featureService';
  readonly name: string;
}

const KINDS = [
  ['entity', 'entities'],
  ['source', 'sources'],
  ['featureView', 'featureViews'],
  ['featureService', 'featureServices'],
] as const;

/**
 * What applying `next` over `current` (the last applied registry version, if any) would add,
 * change and remove, compared by content hash, like `terraform plan`.
 *
 * @example
 * planChanges(undefined, project); // every definition as "add"
 */
export function planChanges(current: Project | undefined, next: Project): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  for (const [kind, key] of KINDS) {
    const before = new Map<string, string>((current?.[key] ?? []).map((d) => [d.name, d.hash]));
    const after = new Map<string, string>(next[key].map((d) => [d.name, d.hash]));
    for (const [name, hash] of after) {
      if (!before.has(name)) changes.push({ action: 'add', kind, name });
      else if (before.get(name) !== hash) changes.push({ action: 'change', kind, name });
    }
    for (const name of before.keys()) if (!after.has(name)) changes.push({ action: 'remove', kind, name });
  }
  return changes;
}
