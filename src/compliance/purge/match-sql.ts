import { entityKeySql, type Project, type Source } from '../../definitions/index.js';
import { ident, literal } from '../../storage/engine/sql-engine.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { keyCarryingColumns } from '../classification/key-carrying-columns.js';
import type { PurgeMatch } from './purge-types.js';

/** The join key columns of `entity` when `source` holds every one of them; undefined when it holds none of that entity's rows. */
export function entityColumnsIn(project: Project, entity: string, source: Source): readonly string[] | undefined {
  const found = project.entities.find((e) => e.name === entity);
  if (found === undefined) throw new NotFoundError('NOT_FOUND', `entity "${entity}" is not in the registry; name one of: ${project.entities.map((e) => e.name).join(', ')}`);
  return found.joinKeys.every((c) => c in source.schema) ? found.joinKeys : undefined;
}

/**
 * The columns of `source` other than the entity's join key that may hold one of its keys as a
 * value (`keyCarryingColumns`: a key renamed or computed by a SQL transform, `customer_id AS
 * payer`), of a type a key's text can be compared with (string, int64, or a list of them). An
 * erasure matches a row by them too: the row is the subject's even without its key column.
 *
 * @example
 * keyValueColumnsIn(project, 'customer', payers); // ['payer']
 */
export function keyValueColumnsIn(project: Project, entity: string, source: Source): string[] {
  const carried = keyCarryingColumns(project, entity).get(source.name);
  const own = entityColumnsIn(project, entity, source) ?? [];
  return [...(carried?.exact ?? []), ...(carried?.unsure ?? [])].filter((c) => !own.includes(c) && ['string', 'int64', 'string[]', 'int64[]'].includes(source.schema[c] ?? ''));
}

/**
 * The rows of a lake file that `match` selects, as one DuckDB predicate over the lake's columns
 * (`_ts` is the event time in epoch ms); undefined when the source cannot hold such rows (it
 * lacks the entity's key columns and every column that may hold a key, {@link keyValueColumnsIn}).
 * A key match selects a row whose entity key is one of the keys, or whose column of
 * `keyValueColumnsIn` holds one (a list: holds one among its items).
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
  const keys = match.keys.map(literal).join(', ');
  const byValue = keyValueColumnsIn(project, match.entity, source).map((c) =>
    (source.schema[c]!.endsWith('[]') ? `list_has_any(CAST(${ident(c)} AS VARCHAR[]), [${keys}])` : `CAST(${ident(c)} AS VARCHAR) IN (${keys})`));
  const terms = [...(columns === undefined ? [] : [`${entityKeySql(columns.map(ident))} IN (${keys})`]), ...byValue];
  if (terms.length === 0 || match.keys.length === 0) return undefined;
  return `coalesce(${terms.join(' OR ')}, false)`;
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
