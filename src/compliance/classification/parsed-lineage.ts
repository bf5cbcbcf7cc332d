import type { Schema, TransformInput } from '../../definitions/index.js';
import { AGGREGATES, ANY_INPUT, column, computed, deciding, inputEdges, NOTHING, union, unresolvedOver, type InputColumn, type Reads } from './lineage-reads.js';
export type { InputColumn } from './lineage-reads.js';

/** A column of a relation; `name` undefined when DuckDB names it (an expression without alias) or when it cannot be told (`opaque`). */
interface Column { readonly name?: string; readonly reads: Reads; readonly opaque?: true }
interface Relation { readonly columns: readonly Column[] }
/** The relations a name may resolve to, innermost first; `inputs` are the transform's inputs by lower-cased name. */
interface Scope {
  readonly relations: readonly { alias: string; relation: Relation }[];
  readonly ctes: ReadonlyMap<string, Relation>;
  readonly inputs: ReadonlyMap<string, Relation>;
  readonly outer?: Scope;
  /** The select list's items by alias, so far (a lateral column alias, `a2 + 1 AS a3`; an alias in WHERE, GROUP BY, ORDER BY). */
  readonly aliases?: Map<string, Reads>;
  /** Where the reads that decide which rows count (filters, joins, groupings, ...) are collected: shared by the scopes of one query, fresh for a subquery in an expression. */
  readonly indirect: Reads[];
}

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);
const lower = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : '');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(lower) : []);
const anyInput: Reads = { ...NOTHING, unresolved: new Set([ANY_INPUT]) };
const OPAQUE: Relation = { columns: [{ reads: anyInput, opaque: true }] };
const opaqueIn = (relation: Relation): boolean => relation.columns.some((c) => c.opaque === true);
/**
 * Whether a relation's columns are known by position: not where a star met two columns of one name
 * (DuckDB keeps one of a USING pair, renames others), so alias lists, UNION and VALUES match them.
 */
const positional = (relation: Relation): boolean => {
  const names = relation.columns.flatMap((c) => (c.name === undefined ? [] : [c.name]));
  return !opaqueIn(relation) && new Set(names).size === names.length;
};

/** What a name reads in a relation: its named columns, and what may also answer to it (opaque columns; anonymous ones when no name matches) as candidates only. */
function lookup(relation: Relation, name: string): Reads | undefined {
  const named = relation.columns.filter((c) => c.name === name);
  const unknown = relation.columns.filter((c) => c.opaque === true || (named.length === 0 && c.name === undefined));
  if (named.length === 0 && unknown.length === 0) return undefined;
  return union([...named.map((c) => c.reads), ...unknown.map((c) => unresolvedOver(c.reads))]);
}

function relationNamed(scope: Scope | undefined, alias: string): Relation | undefined {
  for (let s = scope; s !== undefined; s = s.outer) {
    const found = s.relations.filter((r) => r.alias === alias);
    if (found.length > 0) return { columns: found.flatMap((r) => r.relation.columns) };
    if (s.relations.some((r) => opaqueIn(r.relation))) return undefined;
  }
  return undefined;
}

/** Every column of the relations in scope (this select's and the ones around it), as candidates: what a thing the walker cannot tell may read. */
function inScope(scope: Scope): Reads {
  const all: Reads[] = [];
  for (let s: Scope | undefined = scope; s !== undefined; s = s.outer) all.push(...s.relations.flatMap((r) => r.relation.columns.map((c) => c.reads)));
  return unresolvedOver(union([NOTHING, ...all]));
}

/** A column reference: a column of a relation in scope (innermost first), `t.c`, a struct's field, a relation used as a row, an earlier select item's alias; undefined when it cannot be told. */
function columnRef(names: readonly string[], scope: Scope): Reads | undefined {
  if (names.length === 1) {
    for (let s: Scope | undefined = scope; s !== undefined; s = s.outer) {
      if (s.relations.some((r) => opaqueIn(r.relation))) return undefined;
      const found = s.relations.map((r) => lookup(r.relation, names[0]!)).filter((r) => r !== undefined);
      if (found.length > 0) return union(found);
      const row = relationNamed(s, names[0]!);
      if (row !== undefined) return computed(union([NOTHING, ...row.columns.map((c) => c.reads)]), 'TRANSFORMATION');
      const alias = s.aliases?.get(names[0]!);
      if (alias !== undefined) return alias;
    }
    return undefined;
  }
  if (names.length === 2) {
    const relation = relationNamed(scope, names[0]!);
    const found = relation && lookup(relation, names[1]!);
    if (found !== undefined) return found;
    // A struct's field: computed from the struct column.
    if (relation === undefined) {
      const struct = columnRef([names[0]!], scope);
      return struct && computed(struct, 'TRANSFORMATION');
    }
  }
  return undefined;
}

/** A column reference, or the relations in scope as candidates where it cannot be told. */
const columnOrScope = (names: readonly string[], scope: Scope): Reads => columnRef(names, scope) ?? inScope(scope);

/** Schemas DuckDB puts on its own functions in a parse tree. */
const BUILT_IN_SCHEMAS = new Set(['main', 'system', 'pg_catalog']);

function opaqueScope(scope: Scope): boolean {
  for (let s: Scope | undefined = scope; s !== undefined; s = s.outer) if (s.relations.some((r) => opaqueIn(r.relation))) return true;
  return false;
}

/** Expression classes whose value is computed from their children only. */
const PLAIN = new Set(['FUNCTION', 'CAST', 'OPERATOR', 'COMPARISON', 'CONJUNCTION', 'BETWEEN', 'CONSTANT', 'COLLATE']);
const values = (node: Node, skip: readonly string[]) => Object.entries(node).filter(([key]) => key !== 'alias' && !skip.includes(key)).map(([, v]) => v);
/** The expressions of an ORDER BY: an order modifier's, a window's `orders`, or one order. */
const orderExpressions = (v: unknown): unknown[] => (Array.isArray(v) ? v.flatMap(orderExpressions) : !isNode(v) ? [] : Array.isArray(v.orders) ? orderExpressions(v.orders) : 'expression' in v ? [v.expression] : []);

/**
 * What an expression reads and how. Functions, operators and casts compute their value from their
 * operands (TRANSFORMATION), aggregates aggregate them (AGGREGATION); a CASE's conditions, a
 * window's partition and order, an aggregate's FILTER and ORDER BY, and a subquery's own filters
 * decide the value (INDIRECT). What the walker does not know (a lambda, `#2`, an unknown name) may
 * read any column of the relations in scope (unresolved).
 */
function expressionReads(node: unknown, scope: Scope): Reads {
  if (Array.isArray(node)) return union([NOTHING, ...node.map((n) => expressionReads(n, scope))]);
  if (!isNode(node)) return NOTHING;
  const all = (vs: readonly unknown[]) => union([NOTHING, ...vs.map((v) => expressionReads(v, scope))]);
  if (node.class === undefined) {
    if (typeof node.type === 'string' && node.type.endsWith('_NODE')) return inScope(scope);
    return all(values(node, []));
  }
  switch (node.class) {
    case 'COLUMN_REF': return columnOrScope(strings(node.column_names), scope);
    case 'STAR': {
      // A star or COLUMNS(...) inside an expression: the columns it matches; which one a given output gets is not told unless it matches one.
      const matched = starColumns(node, scope);
      return matched.length === 1 && matched[0]!.opaque !== true ? matched[0]!.reads : unresolvedOver(union([NOTHING, ...matched.map((c) => c.reads)]));
    }
    case 'SUBQUERY': {
      const own: Reads[] = [];
      const query = isNode(node.subquery) ? queryRelation(node.subquery.node, { ...scope, indirect: own }) : OPAQUE;
      const value = union([NOTHING, ...query.columns.map((c) => c.reads), deciding(union([NOTHING, ...own]), 'CONDITIONAL'), expressionReads(node.child, scope)]);
      return lower(node.subquery_type) === 'scalar' ? value : computed(value, 'TRANSFORMATION');
    }
    case 'CASE': {
      const checks = Array.isArray(node.case_checks) ? node.case_checks.filter(isNode) : [];
      return union([
        deciding(all(checks.map((c) => c.when_expr)), 'CONDITIONAL'),
        computed(all([...checks.map((c) => c.then_expr), node.else_expr]), 'TRANSFORMATION'),
      ]);
    }
    case 'WINDOW': return union([
      computed(all([node.children, node.start_expr, node.end_expr, node.offset_expr, node.default_expr]), AGGREGATES.has(lower(node.function_name)) ? 'AGGREGATION' : 'TRANSFORMATION'),
      deciding(all([node.partitions, ...orderExpressions(node.orders)]), 'WINDOW'),
      deciding(all([node.filter_expr]), 'FILTER'),
      deciding(all(orderExpressions(node.arg_orders)), 'SORT'),
    ]);
    default: break;
  }
  if (!PLAIN.has(String(node.class))) return unresolvedOver(union([all(values(node, [])), inScope(scope)]));
  if (node.class === 'CONSTANT') return NOTHING;
  const aggregate = node.class === 'FUNCTION' && AGGREGATES.has(lower(node.function_name));
  const operands = union([
    computed(all(values(node, ['filter', 'order_bys'])), aggregate ? 'AGGREGATION' : 'TRANSFORMATION'),
    deciding(all([node.filter]), 'FILTER'),
    deciding(all(orderExpressions(node.order_bys)), 'SORT'),
  ]);
  // A method call, `email.lower()` or `a.email.lower()`, parses as a function of schema `email` (and
  // catalog `a`): the column it is called on is read too. DuckDB qualifies some built-ins itself
  // (`[a, b]` is `main.list_value(a, b)`): a built-in schema that names no column reads its operands
  // only; any other schema that names no column, or a scope that cannot tell, may read any column in scope.
  const on = node.class === 'FUNCTION' ? [lower(node.catalog), lower(node.schema)].filter((n) => n !== '') : [];
  if (on.length === 0) return operands;
  const called = columnRef(on, scope);
  if (called !== undefined) return union([operands, computed(called, 'TRANSFORMATION')]);
  return on.length === 1 && BUILT_IN_SCHEMAS.has(on[0]!) && !opaqueScope(scope) ? operands : union([operands, inScope(scope)]);
}

/** A table in FROM: a CTE or an input by name, a subquery, VALUES, `unnest(...)`, a join; anything else opaque. Lateral: later items see earlier ones. */
function fromRelations(node: unknown, scope: Scope): { alias: string; relation: Relation }[] {
  if (!isNode(node)) return [{ alias: '', relation: OPAQUE }];
  const alias = lower(node.alias);
  const renamed = (relation: Relation): Relation => {
    const names = strings(node.column_name_alias);
    if (names.length === 0) return relation;
    if (!positional(relation) || names.length > relation.columns.length) return OPAQUE;
    return { columns: relation.columns.map((c, i) => (i < names.length ? { name: names[i]!, reads: c.reads } : c)) };
  };
  switch (node.type) {
    case 'EMPTY': return [];
    case 'BASE_TABLE': {
      const name = lower(node.table_name);
      let cte: Relation | undefined;
      for (let s: Scope | undefined = scope; s !== undefined && cte === undefined; s = s.outer) cte = s.ctes.get(name);
      const relation = lower(node.schema_name) !== '' || lower(node.catalog_name) !== '' ? undefined : (cte ?? scope.inputs.get(name));
      // An alias list over an input is not followed (kept as conservative as the token lineage).
      const followed = cte !== undefined || strings(node.column_name_alias).length === 0;
      return [{ alias: alias || name, relation: relation === undefined || !followed ? OPAQUE : renamed(relation) }];
    }
    case 'SUBQUERY': return [{ alias, relation: renamed(isNode(node.subquery) ? queryRelation(node.subquery.node, scope) : OPAQUE) }];
    case 'EXPRESSION_LIST': {
      const rows = Array.isArray(node.values) ? node.values.filter(Array.isArray) : [];
      const width = rows[0]?.length ?? 0;
      if (rows.length === 0 || rows.some((r) => r.length !== width)) return [{ alias, relation: OPAQUE }];
      const columns = Array.from({ length: width }, (_, i) => ({ name: `col${i}`, reads: union([NOTHING, ...rows.map((r) => expressionReads(r[i], scope))]) }));
      return [{ alias, relation: renamed({ columns }) }];
    }
    case 'TABLE_FUNCTION': {
      const call = isNode(node.function) ? node.function : {};
      const args = Array.isArray(call.children) ? call.children : [];
      // Only a list written out (`[a, b]`) is sure to unnest into one column (a struct or `recursive := true` give more).
      const listed = isNode(args[0]) && args[0].class === 'FUNCTION' && lower(args[0].function_name) === 'list_value';
      if (call.class !== 'FUNCTION' || lower(call.function_name) !== 'unnest' || args.length !== 1 || !listed || strings(node.column_name_alias).length > 1) return [{ alias, relation: OPAQUE }];
      return [{ alias: alias || 'unnest', relation: renamed({ columns: [{ name: 'unnest', reads: expressionReads(args, scope) }] }) }];
    }
    case 'JOIN': {
      const left = fromRelations(node.left, scope);
      const right = fromRelations(node.right, { relations: left, ctes: new Map(), inputs: scope.inputs, indirect: scope.indirect, outer: scope });
      const joined: Scope = { relations: [...left, ...right], ctes: new Map(), inputs: scope.inputs, indirect: scope.indirect, outer: scope };
      scope.indirect.push(deciding(union([expressionReads(node.condition, joined), ...strings(node.using_columns).map((c) => columnOrScope([c], joined))]), 'JOIN'));
      // NATURAL: the columns both sides name; a side whose names are not all known joins on what may be any column in scope.
      if (lower(node.ref_type) === 'natural') {
        const names = (side: typeof left) => side.flatMap((r) => r.relation.columns.map((c) => c.name));
        const [l, r] = [names(left), names(right)];
        const on = l.includes(undefined) || r.includes(undefined) ? inScope(joined) : union([NOTHING, ...l.filter((n) => r.includes(n)).map((n) => columnOrScope([n!], joined))]);
        scope.indirect.push(deciding(on, 'JOIN'));
      }
      return [...left, ...right];
    }
    default: return [{ alias, relation: OPAQUE }];
  }
}

/** A regular expression of COLUMNS('...') as DuckDB matches it (anywhere in the name); undefined when JavaScript does not read it the same way. */
function columnPattern(expr: Node): RegExp | undefined {
  const value = isNode(expr.value) ? expr.value.value : undefined;
  if (expr.class !== 'CONSTANT' || typeof value !== 'string') return undefined;
  try {
    // Names are compared lower-cased (as DuckDB compares them): the match ignores case, which can only add candidates.
    return new RegExp(value, 'i');
  } catch {
    return undefined;
  }
}

/**
 * The columns a star expands to over the scope's relations (or one of them): without its EXCLUDE
 * list, REPLACE's expressions under their names, RENAME's new names, `COLUMNS('regex')` the names
 * the expression matches; `COLUMNS(lambda)` and the like as candidates of unknown names.
 */
function starColumns(star: Node, scope: Scope): Column[] {
  const nameOf = (e: unknown) => lower(isNode(e) ? (strings(e.column_names).at(-1) ?? e.column) : e);
  const excluded = new Set([star.exclude_list, star.qualified_exclude_list].flatMap((l) => (Array.isArray(l) ? l.map(nameOf) : [])));
  const relationName = lower(star.relation_name);
  const relations = relationName === '' ? scope.relations.map((r) => r.relation) : [relationNamed({ ...scope, outer: undefined }, relationName) ?? OPAQUE];
  let columns = relations.flatMap((r) => r.columns).filter((c) => c.name === undefined || !excluded.has(c.name));
  if (star.columns === true && isNode(star.expr) && star.expr.class !== 'STAR') {
    const pattern = columnPattern(star.expr);
    if (pattern === undefined) return [{ reads: unresolvedOver(union([NOTHING, ...columns.map((c) => c.reads)])), opaque: true }];
    columns = columns.filter((c) => c.name === undefined || c.opaque === true || pattern.test(c.name));
  }
  const replaced = new Map((Array.isArray(star.replace_list) ? star.replace_list.filter(isNode) : []).map((r) => [lower(r.key), expressionReads(r.value, scope)]));
  const renamed = new Map((Array.isArray(star.rename_list) ? star.rename_list.filter(isNode) : []).map((r) => [nameOf(r.key), lower(r.value)]));
  return columns.map((c) => (c.name === undefined ? c : { ...c, name: renamed.get(c.name) ?? c.name, reads: replaced.get(c.name) ?? c.reads }));
}

/** Table functions DuckDB accepts in a select list, each returning several rows per input row. */
const ROW_MULTIPLYING = new Set(['unnest', 'generate_series', 'range', 'unlist']);

/** Whether an expression calls a function of `names` anywhere in it (not inside a subquery). */
function calls(node: unknown, names: ReadonlySet<string>): boolean {
  if (Array.isArray(node)) return node.some((n) => calls(n, names));
  if (!isNode(node) || node.class === 'SUBQUERY' || node.class === 'WINDOW') return false;
  if (node.class === 'FUNCTION' && names.has(lower(node.function_name))) return true;
  return Object.values(node).some((n) => calls(n, names));
}

/** A select list's item by its 1-based position (GROUP BY 1, ORDER BY 2), or undefined when the expression is no position. */
function byPosition(e: unknown, columns: readonly Column[], scope: Scope): Reads | undefined {
  const value = isNode(e) && e.class === 'CONSTANT' && isNode(e.value) ? e.value.value : undefined;
  if (typeof value !== 'number') return undefined;
  return columns[value - 1]?.reads ?? inScope(scope);
}

/** What each modifier (ORDER BY, LIMIT, DISTINCT) of a query decides, by the select list's columns where they name positions. */
function modifierReads(node: Node, columns: readonly Column[], scope: Scope): Reads[] {
  const modifiers = Array.isArray(node.modifiers) ? node.modifiers.filter(isNode) : [];
  const all = union([NOTHING, ...columns.map((c) => c.reads)]);
  return modifiers.map((m) => {
    if (m.type === 'ORDER_MODIFIER') return deciding(union([NOTHING, ...orderExpressions(m).map((e) => byPosition(e, columns, scope) ?? expressionReads(e, scope))]), 'SORT');
    if (m.type === 'DISTINCT_MODIFIER') {
      const on = Array.isArray(m.distinct_on_targets) ? m.distinct_on_targets : [];
      return deciding(on.length === 0 ? all : union([NOTHING, ...on.map((e) => byPosition(e, columns, scope) ?? expressionReads(e, scope))]), 'GROUP_BY');
    }
    return deciding(expressionReads(values(m, ['type']), scope), 'FILTER');
  });
}

/** The columns a query node outputs, in order, with what each reads. */
function queryRelation(node: unknown, outer: Scope): Relation {
  if (!isNode(node)) return OPAQUE;
  const ctes = new Map<string, Relation>();
  const withCtes: Scope = { relations: [], ctes, inputs: outer.inputs, indirect: outer.indirect, outer };
  const cteMap = isNode(node.cte_map) && Array.isArray(node.cte_map.map) ? node.cte_map.map : [];
  for (const entry of cteMap) {
    if (!isNode(entry) || !isNode(entry.value) || !isNode(entry.value.query)) return OPAQUE;
    const aliases = strings(entry.value.aliases);
    const relation = queryRelation(entry.value.query.node, withCtes);
    ctes.set(lower(entry.key), aliases.length === 0 ? relation : !positional(relation) || aliases.length > relation.columns.length ? OPAQUE : { columns: relation.columns.map((c, i) => (i < aliases.length ? { name: aliases[i]!, reads: c.reads } : c)) });
  }
  if (node.type === 'SET_OPERATION_NODE') {
    const left = queryRelation(node.left, withCtes);
    const right = queryRelation(node.right, withCtes);
    const both = union([...left.columns, ...right.columns].map((c) => c.reads));
    // Every set operation but UNION ALL decides rows by whole rows (UNION: duplicates, INTERSECT/EXCEPT: matches); an order or limit on it by its columns.
    const setop = lower(node.setop_type);
    if (!(setop === 'union' && node.setop_all === true)) outer.indirect.push(deciding(both, setop.startsWith('union') ? 'GROUP_BY' : 'FILTER'));
    if (Array.isArray(node.modifiers) && node.modifiers.length > 0) outer.indirect.push(deciding(both, 'SORT'));
    if (setop.includes('by_name') || !positional(left) || !positional(right) || left.columns.length !== right.columns.length) return OPAQUE;
    return { columns: left.columns.map((c, i) => ({ ...(c.name === undefined ? {} : { name: c.name }), reads: union([c.reads, right.columns[i]!.reads]) })) };
  }
  if (node.type !== 'SELECT_NODE' || !Array.isArray(node.select_list)) return OPAQUE;
  const aliases = new Map<string, Reads>();
  const scope: Scope = { relations: fromRelations(node.from_table, withCtes), ctes, inputs: outer.inputs, indirect: outer.indirect, outer, aliases };
  const columns: Column[] = [];
  const items = node.select_list.map((item): Column[] => {
    if (!isNode(item)) return [...OPAQUE.columns];
    if (item.class === 'STAR' && lower(item.alias) === '') return starColumns(item, scope);
    const name = lower(item.alias) || (item.class === 'COLUMN_REF' ? strings(item.column_names).at(-1) : undefined);
    const reads = expressionReads(item, scope);
    if (lower(item.alias) !== '' && !aliases.has(name!)) aliases.set(name!, reads);
    return [name === undefined ? { reads } : { name, reads }];
  });
  for (const item of items) columns.push(...item);
  const groups = Array.isArray(node.group_expressions) ? node.group_expressions : [];
  // GROUP BY ALL groups by the select list's items that aggregate nothing; GROUP BY 2 by the second item.
  const grouping = node.aggregate_handling === 'FORCE_AGGREGATES'
    ? union([NOTHING, ...node.select_list.flatMap((item, i) => (calls(item, AGGREGATES) ? [] : items[i]!.map((c) => c.reads)))])
    : union([NOTHING, ...groups.map((e) => byPosition(e, columns, scope) ?? expressionReads(e, scope))]);
  outer.indirect.push(
    deciding(expressionReads([node.where_clause, node.having, node.qualify], scope), 'FILTER'),
    deciding(grouping, 'GROUP_BY'),
    ...modifierReads(node, columns, scope),
  );
  // A select item that returns several rows per input row (unnest, generate_series, range) decides how many rows there are, as a lateral join with its list would.
  for (const item of node.select_list) if (calls(item, ROW_MULTIPLYING)) outer.indirect.push(deciding(expressionReads(item, scope), 'JOIN'));
  return { columns };
}

/**
 * Which input columns each output column of a transform's SQL reads and how, and which decide the
 * rows it outputs, read from DuckDB's own parse tree (`json_serialize_sql(sql)`, passed here
 * parsed): CTEs, subqueries, joins (lateral too), set operations, stars with EXCLUDE, REPLACE and
 * RENAME, `COLUMNS('regex')`, lateral column aliases, VALUES and `unnest(...)` in FROM are
 * followed column by column. An output's edges (`TransformInput`): DIRECT IDENTITY (passed
 * through), TRANSFORMATION (functions, casts, operators, CASE results), AGGREGATION (through an
 * aggregate); INDIRECT WINDOW (a window's partition and order), CONDITIONAL (a CASE condition, a
 * correlated subquery's filter), FILTER and SORT (an aggregate's FILTER and ORDER BY). `rows`:
 * INDIRECT JOIN (conditions, USING, NATURAL; an unnest in the select list), FILTER (WHERE,
 * HAVING, QUALIFY, LIMIT; INTERSECT, EXCEPT), GROUP_BY (groupings, DISTINCT, UNION), SORT (ORDER
 * BY), at any depth. What the walker does not know (a lambda, `#2`, a name it cannot resolve, an
 * unknown table function) makes the output read, `unresolved`, every column of the relations in
 * scope where it stands (of every input only past an unknown table function). Undefined when the
 * tree is not one SELECT statement.
 *
 * @example
 * parsedTransformLineage(JSON.parse(tree), { accounts: { id: 'string', email: 'string' } }, ['id']);
 * // { columns: { id: [{ input: 'accounts.id', type: 'DIRECT', subtype: 'IDENTITY' }] }, rows: [] }
 */
export function parsedTransformLineage(tree: unknown, inputs: Readonly<Record<string, Schema>>, outputs: readonly string[]): { columns: Record<string, TransformInput[]>; rows: TransformInput[] } | undefined {
  const statements = isNode(tree) && tree.error !== true && Array.isArray(tree.statements) ? tree.statements : [];
  if (statements.length !== 1 || !isNode(statements[0])) return undefined;
  const every = Object.entries(inputs).flatMap(([input, schema]) => Object.keys(schema).map((c) => `${input}.${c}`));
  const byName = new Map(Object.entries(inputs).map(([input, schema]) => [input.toLowerCase(), { columns: Object.keys(schema).map((c) => ({ name: c.toLowerCase(), reads: column(`${input}.${c}`) })) }]));
  const indirect: Reads[] = [];
  const top = queryRelation(statements[0].node, { relations: [], ctes: new Map(), inputs: byName, indirect });
  return {
    columns: Object.fromEntries(outputs.map((output) => [output, inputEdges(lookup(top, output.toLowerCase()) ?? anyInput, every)])),
    rows: inputEdges(union([NOTHING, ...indirect]), every),
  };
}

/**
 * The input columns each output column's value may carry something of: its DIRECT inputs,
 * unresolved candidates, and what decides its value alone (a CASE condition, a window's partition,
 * a correlated subquery's filter), not what decides the rows: what a classification propagates
 * (see `parsedTransformLineage`).
 *
 * @example
 * parsedColumnLineage(JSON.parse(tree), { accounts: { id: 'string', email: 'string' } }, ['id']); // { id: ['accounts.id'] }
 */
export function parsedColumnLineage(tree: unknown, inputs: Readonly<Record<string, Schema>>, outputs: readonly string[]): Record<string, InputColumn[]> | undefined {
  const parsed = parsedTransformLineage(tree, inputs, outputs);
  return parsed && Object.fromEntries(Object.entries(parsed.columns).map(([o, edges]) => [o, valueInputs(edges)]));
}

/**
 * The inputs an output's value may carry something of (its edges: DIRECT, unresolved, INDIRECT of
 * this output alone), each once: what a classification propagates.
 *
 * @example
 * valueInputs([{ input: 'a.x', type: 'DIRECT', subtype: 'IDENTITY' }, { input: 'a.x', type: 'INDIRECT', subtype: 'CONDITIONAL' }]); // ['a.x']
 */
export function valueInputs(edges: readonly TransformInput[]): InputColumn[] {
  return [...new Set(edges.map((e) => e.input))];
}

/**
 * The input columns that decide which rows a transform's SQL outputs, each once (see `rows` of
 * `parsedTransformLineage`). Undefined when the tree is not one SELECT statement.
 *
 * @example
 * parsedIndirectReads(JSON.parse(tree), { accounts: { id: 'string', email: 'string' } }); // for "... WHERE email LIKE '%@%'": ['accounts.email']
 */
export function parsedIndirectReads(tree: unknown, inputs: Readonly<Record<string, Schema>>): InputColumn[] | undefined {
  const parsed = parsedTransformLineage(tree, inputs, []);
  return parsed && [...new Set(parsed.rows.map((e) => e.input))];
}
