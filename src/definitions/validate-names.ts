import { DefinitionError } from '../errors.js';

/**
 * The rules for names in definitions, in one place. Names are compared the way DuckDB compares
 * identifiers: case-insensitively. Names are looked up as own properties only, so `toString` or
 * `constructor` is never "found" on a plain object.
 */

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Columns Sluice adds (`_ts`, `_seq`, `_key`, `_row`, ...) start with this; user columns may not. */
export const RESERVED_PREFIX = '_';

export function fail(message: string, details?: Record<string, unknown>): never {
  throw new DefinitionError('DEFINITION_INVALID', message, details ? { details } : {});
}

/** The value of an own property, never one inherited from `Object.prototype`. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function checkName(what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    fail(`${what} name ${JSON.stringify(name)} is not valid: use letters, digits and "_", not starting with a digit`);
  }
  if (name.includes('__')) fail(`${what} "${name}": names may not contain "__" (it separates view and feature in column names)`);
}

/** Names that become columns (source columns; view names, which start every output column) may not start with the reserved prefix. */
export function checkNotReserved(what: string, name: string): void {
  if (name.startsWith(RESERVED_PREFIX)) fail(`${what} "${name}" starts with "${RESERVED_PREFIX}", which is reserved for Sluice's internal columns; rename it`);
}

/** A source column name: a valid name that does not start with the reserved prefix. */
export function checkColumnName(source: string, column: string): void {
  if (!NAME.test(column)) fail(`source "${source}": column name "${column}" is not valid: use letters, digits and "_", not starting with a digit`);
  checkNotReserved(`source "${source}": column`, column);
}

/**
 * Refuses two names that are the same, or the same up to case. `what` is the plural noun
 * (`feature views`); `where` prefixes the message (`feature view "stats": `).
 */
export function noCollisions(what: string, names: Iterable<string>, where = ''): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const other = seen.get(name.toLowerCase());
    if (other !== undefined) fail(`${where}${what} "${other}" and "${name}" collide (names are compared case-insensitively); rename one`);
    seen.set(name.toLowerCase(), name);
  }
}

/** Checks a list of named definitions: valid names, no exact duplicates, no case-insensitive collisions. */
export function uniqueNames(what: string, plural: string, items: readonly { name: string }[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    checkName(what, item.name);
    if (seen.has(item.name)) fail(`duplicate ${what} name "${item.name}": names must be unique`);
    seen.add(item.name);
  }
  noCollisions(plural, seen);
}

const EXAMPLE: Record<string, string> = { entities: 'entities: [customer]', sources: 'sources: [transactions]', featureViews: 'featureViews: [txnStats]' };

/**
 * A list field of the project (`entities`, ...), each item built by `builder` (`entity`, ...),
 * which sets its `kind`. A missing optional list is empty.
 */
export function definitionList<T>(project: string, field: string, value: unknown, builders: string | readonly string[], optional = false): readonly T[] {
  const kinds = typeof builders === 'string' ? [builders] : builders;
  const builder = kinds.join('/');
  const builds = kinds.map((k) => `${k}(...)`).join(kinds.length > 2 ? ', ' : ' or ').replace(/, ([^,]*)$/, ' or $1');
  const where = `project "${project}": `;
  if (value === undefined && optional) return [];
  if (value === undefined) fail(`${where}"${field}" is missing; list the project's ${field}, e.g. ${EXAMPLE[field] ?? `${field}: [...]`}`);
  if (!Array.isArray(value)) fail(`${where}"${field}" must be a list of ${builds} definitions`);
  value.forEach((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || !kinds.includes((item as { kind?: unknown }).kind as string)) {
      fail(`${where}${field}[${i}] is not ${/^[aeiou]/.test(builder) ? 'an' : 'a'} ${builder}(...) definition; build it with ${kinds.map((k) => `${k}({...})`).join(' or ')}`);
    }
  });
  return value as T[];
}

/** A plain object of name to definition (a schema, a view's features). */
export function checkRecord(value: unknown, message: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(message);
}

/** A duration option (`window`, `ttl`) must be a string before it is parsed. */
export function checkDurationText(where: string, option: string, value: unknown, example: string): asserts value is string {
  if (typeof value !== 'string') fail(`${where}: ${option} must be a duration string such as "${example}", not ${JSON.stringify(value)}`);
}
