import { entityKeySql, type Project, type Source } from '../../definitions/index.js';
import { ident, literal } from '../../storage/engine/sql-engine.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { PurgeMatch } from './purge-types.js';

/** The join key columns of `entity` when `source` holds every one of them; undefined when it holds none of that entity's rows. */
export function entityColumnsIn(project: Project, entity: string, source: Source): readonly string[] | undefined {
  const found = project.entities.find((e) => e.name === entity);
  if (found === undefined) throw new NotFoundError('NOT_FOUND', `entity "${entity}" is not in the registry; name one of: ${project.entities.map((e) => e.name).join(', ')}`);
  return found.joinKeys.every((c) => c in source.schema) ? found.joinKeys : undefined;
}

/**
 * The rows of a lake file that `match` selects, as one DuckDB predicate over the lake's columns
 * (`_ts` is the event time in epoch ms); undefined when the source cannot hold such rows (it
 * lacks the entity's key columns).
 *
 * @example
 * matchSql(project, txns, { kind: 'before', before: Date.parse('2024-01-01') }); // '_ts < 1704067200000'
 */
export function matchSql(project: Project, source: Source, match: PurgeMatch): string | undefined {
  if (match.kind === 'before') {
    if (!Number.isFinite(match.before)) throw new ValidationError('VALIDATION_FAILED', `purge of source "${source.name}": the cutoff must be a time (epoch ms), got ${match.before}`);
    return `_ts < ${Math.trunc(match.before)}`;
  }
  const columns = entityColumnsIn(project, match.entity, source);
  if (columns === undefined || match.keys.length === 0) return undefined;
  return `coalesce(${entityKeySql(columns.map(ident))} IN (${match.keys.map(literal).join(', ')}), false)`;
}

/**
 * The parts of an entity key in its text form (see `entityKey`): the key itself for one join
 * key, else each length-prefixed part (lengths in UTF-8 bytes).
 *
 * @example
 * entityKeyParts('2:u13:m45', 2); // ['u1', 'm45']
 */
export function entityKeyParts(key: string, parts: number): string[] {
  if (parts <= 1) return [key];
  const bytes = Buffer.from(key, 'utf8');
  const found: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const colon = bytes.indexOf(0x3a, at);
    const length = Number(bytes.subarray(at, colon).toString('utf8'));
    if (colon < 0 || !Number.isInteger(length)) return [key];
    found.push(bytes.subarray(colon + 1, colon + 1 + length).toString('utf8'));
    at = colon + 1 + length;
  }
  return found.length === parts ? found : [key];
}
