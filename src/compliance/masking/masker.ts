import type { ColumnType, MaskMethod, Project } from '../../definitions/index.js';
import type { Principal } from '../principal.js';
import type { Classified, ClassificationLookup } from './classification-lookup.js';
import { maskKey, maskKeySql, maskValue, maskValueSql, type MaskKey } from './mask-methods.js';
import { maskMethod, stricter, type MaskTarget } from './mask-precedence.js';

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
  /** The methods of these roles, shared by every masker of the same project, catalog and roles (a cache key). */
  readonly plan: MaskPlan;
  /** How feature `view:feature` (of value type `type`) is shown. */
  feature(view: string, feature: string, type: ColumnType): MaskedColumn;
  /** How column `column` of source (or transform table) `source` is shown. */
  column(source: string, column: string): MaskedColumn | undefined;
  /** How join key column `column` of view `view`'s entity (of type `type`) is shown in a dataset. */
  key(view: string, column: string, type: ColumnType): MaskedColumn;
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
  /**
   * Mask also as a principal with these roles would see it (`--as analyst`): each value gets the
   * stricter of the principal's own method and theirs, so it can only ever show less.
   */
  readonly asRoles?: readonly string[];
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
  // The methods of a project, catalog and set of roles are worked out once, not per request.
  let byCatalog = plans.get(project);
  if (!byCatalog) plans.set(project, (byCatalog = new WeakMap()));
  let byRoles = byCatalog.get(catalog);
  if (!byRoles) byCatalog.set(catalog, (byRoles = new Map()));
  const rolesKey = `${[...principal.roles].sort().join('\n')}\u0000${options.asRoles === undefined ? '-' : [...options.asRoles].sort().join('\n')}`;
  let plan = byRoles.get(rolesKey);
  if (!plan) {
    plan = maskPlan(project, catalog, principal.roles, options.asRoles);
    if (byRoles.size < 256) byRoles.set(rolesKey, plan);
  }
  let key: MaskKey | undefined;
  const keyOf = (): MaskKey => (key ??= maskKey(options.secret()));
  return {
    roles: principal.roles,
    plan,
    feature: plan.feature,
    column: plan.column,
    key: plan.key,
    value: (column, value) => maskValue(column.method, column.type, value, keyOf),
    sql: (column, expr) => maskValueSql(column.method, column.type, expr),
    async prepare(session) {
      const statements = maskKeySql(keyOf());
      await session.run(statements.set);
      return () => session.run(statements.reset);
    },
  };
}

/** The methods one set of roles gets, worked out on first use and kept (per project and catalog). */
export interface MaskPlan {
  feature(view: string, feature: string, type: ColumnType): MaskedColumn;
  column(source: string, column: string): MaskedColumn | undefined;
  key(view: string, column: string, type: ColumnType): MaskedColumn;
}

const plans = new WeakMap<Project, WeakMap<ClassificationLookup, Map<string, MaskPlan>>>();

const isClassified = (c: Classified | undefined): boolean => c?.pii !== undefined || (c?.tags?.length ?? 0) > 0;

function maskPlan(project: Project, catalog: ClassificationLookup, roles: readonly string[], asRoles: readonly string[] | undefined): MaskPlan {
  const rules = project.masking ?? [];
  const methodOf = (target: MaskTarget): MaskMethod => {
    const own = maskMethod(rules, roles, target);
    return asRoles === undefined ? own : stricter(own, maskMethod(rules, asRoles, target));
  };
  const features = new Map<string, MaskedColumn>();
  const columns = new Map<string, MaskedColumn | undefined>();
  return {
    feature(view, feature, type) {
      const id = `${view}:${feature}`;
      let known = features.get(id);
      if (!known) {
        const classified = catalog.feature(view, feature);
        known = { name: `${view}__${feature}`, type, method: methodOf({ feature: id, ...(classified ? { classified } : {}) }), classified: isClassified(classified) };
        features.set(id, known);
      }
      return known;
    },
    column(sourceName, column) {
      const id = `${sourceName}.${column}`;
      if (columns.has(id)) return columns.get(id);
      const type = project.sources.find((s) => s.name === sourceName)?.schema[column];
      const classified = catalog.column(sourceName, column);
      const known = type === undefined ? undefined : { name: column, type, method: methodOf(classified ? { classified } : {}), classified: isClassified(classified) };
      columns.set(id, known);
      return known;
    },
    key(view, column, type) {
      const id = `key:${view}.${column}`;
      let known = columns.get(id);
      if (!known) {
        const classified = catalog.keyColumn?.(view, column);
        known = { name: column, type, method: methodOf(classified ? { classified } : {}), classified: isClassified(classified) };
        columns.set(id, known);
      }
      return known;
    },
  };
}
