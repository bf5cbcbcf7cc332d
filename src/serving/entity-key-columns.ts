import { ValidationError } from '../errors.js';
import type { OnlineFeaturesRequest } from './online-features.js';

/**
 * The request's values of each join key column, checked: every key present and no other (a typo
 * beside the right key is refused, not ignored), arrays of strings or safe integers, all of the
 * same length. Throws a `ValidationError` naming the keys.
 */
export function entityKeyColumns(request: OnlineFeaturesRequest, joinKeys: readonly string[]): (readonly (string | number)[])[] {
  const missing = joinKeys.filter((k) => request.entities?.[k] === undefined);
  if (missing.length > 0) {
    const given = Object.keys(request.entities ?? {});
    const example = joinKeys.map((k) => `"${k}": [...]`).join(', ');
    throw new ValidationError('MISSING_ENTITY_KEY', `request has no entity key ${missing.map((k) => `"${k}"`).join(', ')}${given.length ? ` (got ${given.slice(0, 10).join(', ')}${given.length > 10 ? ` and ${given.length - 10} more` : ''})` : ''}; send {"entities": {${example}}}`);
  }
  // Every join key is there: more keys with values than join keys means one the features do not take
  // (counted, nothing allocated; a key set to undefined counts as absent, as for a missing key above).
  let given = 0;
  for (const key in request.entities) if (Object.hasOwn(request.entities, key) && request.entities[key] !== undefined) given++;
  if (given > joinKeys.length) {
    const unknown = Object.keys(request.entities).filter((k) => !joinKeys.includes(k) && request.entities[k] !== undefined);
    const example = joinKeys.map((k) => `"${k}": [...]`).join(', ');
    throw new ValidationError('UNKNOWN_ENTITY_KEY', `entity key ${unknown.slice(0, 10).map((k) => `"${k}"`).join(', ')}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''} ${unknown.length === 1 ? 'is not a join key' : 'are not join keys'} of the requested features, which take ${joinKeys.map((k) => `"${k}"`).join(', ')}; send {"entities": {${example}}}`);
  }
  const columns = joinKeys.map((joinKey) => {
    const values = request.entities[joinKey];
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' && !(typeof v === 'number' && Number.isSafeInteger(v)))) {
      throw new ValidationError('BAD_REQUEST', `entities.${joinKey} must be an array of strings or integers`);
    }
    return values as (string | number)[];
  });
  const n = columns[0]!.length;
  if (columns.some((c) => c.length !== n)) {
    throw new ValidationError('BAD_REQUEST', `the entity key arrays must have equal lengths, one value per entity: ${joinKeys.map((k, i) => `entities.${k} has ${columns[i]!.length}`).join(', ')}`);
  }
  return columns;
}
