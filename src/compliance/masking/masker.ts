import type { ColumnType, MaskMethod, Project } from '../../definitions/index.js';
import type { Principal } from '../principal.js';
import type { ClassificationLookup } from './classification-lookup.js';
import { maskKey, maskKeySql, maskValue, maskValueSql, type MaskKey } from './mask-methods.js';
import { maskMethod } from './mask-precedence.js';

/** A column of output and how it is shown to the principal. */
export interface MaskedColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly method: MaskMethod;
  /** Classified (by level or tag), whatever its method: its reads are evidence for the audit trail. */
  readonly classified: boolean;
}

/** A session of the SQL engine, as far as masking needs it (see `SqlEngine`). */
export interface MaskingSession {
  run(sql: string): Promise<void>;
}

/**
 * How data is shown to one principal, under one project's masking rules and classification: the
 * one masking function of every path that returns data (online answers, `sluice get`, datasets,
 * dead letters). JavaScript and SQL forms give the same values (tested).
 */
export interface Masker {
  /** The roles it masks for. */
  readonly roles: readonly string[];
  /** How feature `view:feature` (of value type `type`) is shown. */
  feature(view: string, feature: string, type: ColumnType): MaskedColumn;
  /** How column `column` of source (or transform table) `source` is shown. */
  column(source: string, column: string): MaskedColumn | undefined;
  /** A value masked in JavaScript (null stays null). */
  value(column: MaskedColumn, value: unknown): unknown;
  /** The same masking as SQL over `expr`; needs {@link Masker.prepare} on the session first when a column is hashed. */
  sql(column: MaskedColumn, expr: string): string;
  /** Gives a DuckDB session the key the SQL form hashes with; returns how to take it away again. */
  prepare(session: MaskingSession): Promise<() => Promise<void>>;
}

export interface MaskerOptions {
  /** The project secret (see `projectSecret`), read only when a value is hashed. */
  readonly secret: () => Buffer;
}

/**
 * The masker of a principal: for each feature or column, the method its roles get under the
 * project's `masking` rules and the data's classification (see `maskMethod` for precedence and
 * defaults).
 *
 * @example
 * const masker = maskerFor(project, catalog, principal, { secret: () => projectSecret(ctx.dataDir) });
 * const email = masker.feature('profile', 'email', 'string'); // { method: 'hash', ... }
 */
export function maskerFor(project: Project, catalog: ClassificationLookup, principal: Principal, options: MaskerOptions): Masker {
  // One masker per set of roles of a project and catalog: its methods are worked out once, not per request.
  let byRoles = cache.get(catalog);
  if (!byRoles) cache.set(catalog, (byRoles = new Map()));
  const rolesKey = `${[...principal.roles].sort().join('\n')}\u0000${project.hash}\u0000${JSON.stringify(project.masking ?? [])}`;
  let masker = byRoles.get(rolesKey);
  if (!masker) {
    masker = newMasker(project, catalog, principal, options);
    if (byRoles.size < 256) byRoles.set(rolesKey, masker);
  }
  return masker;
}

const cache = new WeakMap<ClassificationLookup, Map<string, Masker>>();

function newMasker(project: Project, catalog: ClassificationLookup, principal: Principal, options: MaskerOptions): Masker {
  const rules = project.masking ?? [];
  let key: MaskKey | undefined;
  const keyOf = (): MaskKey => (key ??= maskKey(options.secret()));
  const features = new Map<string, MaskedColumn>();
  const columns = new Map<string, MaskedColumn | undefined>();
  return {
    roles: principal.roles,
    feature(view, feature, type) {
      const id = `${view}:${feature}`;
      let known = features.get(id);
      if (!known) {
        const classified = catalog.feature(view, feature);
        known = { name: `${view}__${feature}`, type, method: maskMethod(rules, principal.roles, { feature: id, ...(classified ? { classified } : {}) }), classified: classified?.pii !== undefined || (classified?.tags?.length ?? 0) > 0 };
        features.set(id, known);
      }
      return known;
    },
    column(sourceName, column) {
      const id = `${sourceName}.${column}`;
      if (columns.has(id)) return columns.get(id);
      const source = project.sources.find((s) => s.name === sourceName);
      const type = source?.schema[column];
      const classified = catalog.column(sourceName, column);
      const known = type === undefined ? undefined : { name: column, type, method: maskMethod(rules, principal.roles, classified ? { classified } : {}), classified: classified?.pii !== undefined || (classified?.tags?.length ?? 0) > 0 };
      columns.set(id, known);
      return known;
    },
    value: (column, value) => maskValue(column.method, column.type, value, keyOf),
    sql: (column, expr) => maskValueSql(column.method, column.type, expr),
    async prepare(session) {
      const statements = maskKeySql(keyOf());
      await session.run(statements.set);
      return () => session.run(statements.reset);
    },
  };
}
