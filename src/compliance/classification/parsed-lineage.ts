import type { Schema } from '../../definitions/index.js';
/** An input column, `<input>.<column>`. */
export type InputColumn = string;

/** Every input column: what an output reads where the walker cannot tell. */
const EVERY = 'every' as const;
type Reads = ReadonlySet<InputColumn> | typeof EVERY;

/** A column of a relation; `name` undefined when DuckDB names it (an expression without alias) or when it cannot be told (`opaque`). */
interface Column { readonly name?: string; readonly reads: Reads; readonly opaque?: true }
interface Relation { readonly columns: readonly Column[] }
/** The relations a name may resolve to, innermost first; `inputs` are the transform's inputs by lower-cased name. */
interface Scope {
  readonly relations: readonly { alias: string; relation: Relation }[];
  readonly ctes: ReadonlyMap<string, Relation>;
  readonly inputs: ReadonlyMap<string, Relation>;
  readonly outer?: Scope;
  /** Where the reads that decide which rows count (filters, joins, groupings, ...) are collected, shared by every scope of a statement. */
  readonly indirect: Reads[];
}

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);
const lower = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : '');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(lower) : []);
const union = (all: readonly Reads[]): Reads => {
  if (all.includes(EVERY)) return EVERY;
  return new Set(all.flatMap((r) => [...(r as ReadonlySet<InputColumn>)]));
};
const OPAQUE: Relation = { columns: [{ reads: EVERY, opaque: true }] };
const opaqueIn = (relation: Relation): boolean => relation.columns.some((c) => c.opaque === true);
/**
 * Whether a relation's columns are known by position: not where a star met two columns of one name
 * (DuckDB keeps one of a USING pair, renames others), so alias lists, UNION and VALUES match them.
 */
const positional = (relation: Relation): boolean => {
  const names = relation.columns.flatMap((c) => (c.name === undefined ? [] : [c.name]));
  return !opaqueIn(relation) && new Set(names).size === names.length;
};

/** What a name reads in a relation: its named columns, and whatever may also answer to it (opaque columns; anonymous ones when no name matches). */
function lookup(relation: Relation, name: string): Reads | undefined {
  const named = relation.columns.filter((c) => c.name === name);
  const unknown = relation.columns.filter((c) => c.opaque === true || (named.length === 0 && c.name === undefined));
  if (named.length === 0 && unknown.length === 0) return undefined;
  return union([...named, ...unknown].map((c) => c.reads));
}

function relationNamed(scope: Scope | undefined, alias: string): Relation | undefined {
  for (let s = scope; s !== undefined; s = s.outer) {
    const found = s.relations.filter((r) => r.alias === alias);
    if (found.length > 0) return { columns: found.flatMap((r) => r.relation.columns) };
    if (s.relations.some((r) => opaqueIn(r.relation))) return undefined;
  }
  return undefined;
}

/** A column reference: a column of a relation in scope (innermost first), `t.c`, a struct's field, or a relation used as a row. */
function columnRef(names: readonly string[], scope: Scope): Reads {
  if (names.length === 1) {
    for (let s: Scope | undefined = scope; s !== undefined; s = s.outer) {
      if (s.relations.some((r) => opaqueIn(r.relation))) return EVERY;
      const found = s.relations.map((r) => lookup(r.relation, names[0]!)).filter((r) => r !== undefined);
      if (found.length > 0) return union(found);
      const row = relationNamed(s, names[0]!);
      if (row !== undefined) return union(row.columns.map((c) => c.reads));
    }
    return EVERY;
  }
  if (names.length === 2) {
    const relation = relationNamed(scope, names[0]!);
    const column = relation && lookup(relation, names[1]!);
    if (column !== undefined) return column;
    if (relation === undefined) return columnRef([names[0]!], scope);
  }
  return EVERY;
}

/** Schemas DuckDB puts on its own functions in a parse tree. */
const BUILT_IN_SCHEMAS = new Set(['main', 'system', 'pg_catalog']);

function opaqueScope(scope: Scope): boolean {
  for (let s: Scope | undefined = scope; s !== undefined; s = s.outer) if (s.relations.some((r) => opaqueIn(r.relation))) return true;
  return false;
}

/** Expression classes whose value comes only from their children. */
const PLAIN = new Set(['FUNCTION', 'CAST', 'OPERATOR', 'COMPARISON', 'CONJUNCTION', 'CASE', 'BETWEEN', 'CONSTANT', 'WINDOW', 'COLLATE']);

/** What an expression reads; EVERY for anything the walker does not know (a lambda, `#2`, `COLUMNS(...)`, a star inside an expression). */
function expressionReads(node: unknown, scope: Scope): Reads {
  if (Array.isArray(node)) return union(node.map((n) => expressionReads(n, scope)));
  if (!isNode(node)) return new Set();
  if (node.class === undefined) {
    if (typeof node.type === 'string' && node.type.endsWith('_NODE')) return EVERY;
    return union(Object.values(node).map((v) => expressionReads(v, scope)));
  }
  if (node.class === 'COLUMN_REF') return columnRef(strings(node.column_names), scope);
  if (node.class === 'SUBQUERY') {
    const query = isNode(node.subquery) ? queryRelation(node.subquery.node, scope) : OPAQUE;
    return union([...query.columns.map((c) => c.reads), expressionReads(node.child, scope)]);
  }
  if (!PLAIN.has(String(node.class))) return EVERY;
  const operands = union(Object.entries(node).filter(([key]) => key !== 'alias').map(([, v]) => expressionReads(v, scope)));
  // A method call, `email.lower()` or `a.email.lower()`, parses as a function of schema `email` (and
  // catalog `a`): the column it is called on is read too. DuckDB qualifies some built-ins itself
  // (`[a, b]` is `main.list_value(a, b)`): a built-in schema that names no column reads its operands
  // only; any other schema that names no column, or a scope that cannot tell, reads every column.
  const on = node.class === 'FUNCTION' ? [lower(node.catalog), lower(node.schema)].filter((n) => n !== '') : [];
  if (on.length === 0) return operands;
  const column = columnRef(on, scope);
  if (column !== EVERY) return union([operands, column]);
  return on.length === 1 && BUILT_IN_SCHEMAS.has(on[0]!) && !opaqueScope(scope) ? operands : EVERY;
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
      const columns = Array.from({ length: width }, (_, i) => ({ name: `col${i}`, reads: union(rows.map((r) => expressionReads(r[i], scope))) }));
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
      scope.indirect.push(expressionReads(node.condition, joined), ...strings(node.using_columns).map((c) => columnRef([c], joined)));
      // NATURAL: the columns both sides name; a side whose names are not all known joins on what cannot be told.
      if (lower(node.ref_type) === 'natural') {
        const names = (side: typeof left) => side.flatMap((r) => r.relation.columns.map((c) => c.name));
        const [l, r] = [names(left), names(right)];
        scope.indirect.push(l.includes(undefined) || r.includes(undefined) ? EVERY : union(l.filter((n) => r.includes(n)).map((n) => columnRef([n!], joined))));
      }
      return [...left, ...right];
    }
    default: return [{ alias, relation: OPAQUE }];
  }
}

/** The columns a star expands to over the scope's relations (or one of them), without its EXCLUDE list; opaque for REPLACE, RENAME, COLUMNS(...). */
function starColumns(star: Node, scope: Scope): Column[] {
  if (star.columns === true || isNode(star.expr) || (Array.isArray(star.replace_list) && star.replace_list.length > 0) || (Array.isArray(star.rename_list) && star.rename_list.length > 0)) {
    return [...OPAQUE.columns];
  }
  const excluded = new Set((Array.isArray(star.exclude_list) ? star.exclude_list : []).map((e) => lower(isNode(e) ? (strings(e.column_names).at(-1) ?? e.column) : e)));
  const relationName = lower(star.relation_name);
  const relations = relationName === '' ? scope.relations.map((r) => r.relation) : [relationNamed({ ...scope, outer: undefined }, relationName) ?? OPAQUE];
  return relations.flatMap((r) => r.columns).filter((c) => c.name === undefined || !excluded.has(c.name));
}

/** Table functions DuckDB accepts in a select list, each returning several rows per input row. */
const ROW_MULTIPLYING = new Set(['unnest', 'generate_series', 'range', 'unlist']);

/** Whether an expression calls a row-multiplying function anywhere in it. */
function multipliesRows(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(multipliesRows);
  if (!isNode(node)) return false;
  if (node.class === 'FUNCTION' && ROW_MULTIPLYING.has(lower(node.function_name))) return true;
  return Object.values(node).some(multipliesRows);
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
    // Every set operation but UNION ALL decides rows by whole rows (duplicates, matches); an order or limit on it by its columns.
    const removesRows = !(lower(node.setop_type) === 'union' && node.setop_all === true);
    if (removesRows || (Array.isArray(node.modifiers) && node.modifiers.length > 0)) outer.indirect.push(union([...left.columns, ...right.columns].map((c) => c.reads)));
    const byName = lower(node.setop_type).includes('by_name');
    if (byName || !positional(left) || !positional(right) || left.columns.length !== right.columns.length) return OPAQUE;
    return { columns: left.columns.map((c, i) => ({ ...(c.name === undefined ? {} : { name: c.name }), reads: union([c.reads, right.columns[i]!.reads]) })) };
  }
  if (node.type !== 'SELECT_NODE' || !Array.isArray(node.select_list)) return OPAQUE;
  const scope: Scope = { relations: fromRelations(node.from_table, withCtes), ctes, inputs: outer.inputs, indirect: outer.indirect, outer };
  const columns = node.select_list.flatMap((item): Column[] => {
    if (!isNode(item)) return [...OPAQUE.columns];
    if (item.class === 'STAR' && lower(item.alias) === '') return starColumns(item, scope);
    const name = lower(item.alias) || (item.class === 'COLUMN_REF' ? strings(item.column_names).at(-1) : undefined);
    const reads = expressionReads(item, scope);
    return [name === undefined ? { reads } : { name, reads }];
  });
  outer.indirect.push(...[node.where_clause, node.group_expressions, node.having, node.qualify, node.modifiers].map((e) => expressionReads(e, scope)));
  // GROUP BY ALL, or a grouping or an order by position (a constant), decides by the select list's items.
  // DISTINCT decides by the whole select list, as does a grouping or an order by position (a constant).
  const byPosition = (e: unknown) => isNode(e) && e.class === 'CONSTANT';
  const modifiers = Array.isArray(node.modifiers) ? node.modifiers.filter(isNode) : [];
  const orders = modifiers.flatMap((m) => (Array.isArray(m.orders) ? m.orders.map((o) => (isNode(o) ? o.expression : undefined)) : []));
  const distinct = modifiers.some((m) => m.type === 'DISTINCT_MODIFIER');
  if (distinct || node.aggregate_handling === 'FORCE_AGGREGATES' || (Array.isArray(node.group_expressions) && node.group_expressions.some(byPosition)) || orders.some(byPosition)) outer.indirect.push(union(columns.map((c) => c.reads)));
  // A select item that returns several rows per input row (unnest, generate_series, range) decides how many rows there are.
  for (const item of node.select_list) if (multipliesRows(item)) outer.indirect.push(expressionReads(item, scope));
  return { columns };
}

/**
 * Which input columns each output column of a transform's SQL is computed from, read from
 * DuckDB's own parse tree (`json_serialize_sql(sql)`, passed here parsed): CTEs, subqueries,
 * joins (lateral too), set operations, stars with EXCLUDE, VALUES and `unnest(...)` in FROM are
 * followed column by column; functions, aggregates, casts, CASE and operators read their
 * operands; `count(*)` and literals read nothing. Filters, joins' conditions and groupings are
 * not lineage. Whatever the walker does not know (a lambda, `#2`, `COLUMNS(...)`, `* REPLACE`,
 * another table function, a name it cannot resolve) makes the output that reaches it read every
 * input column. Undefined when the tree is not one SELECT statement.
 *
 * @example
 * parsedColumnLineage(JSON.parse(tree), { accounts: { id: 'string', email: 'string' } }, ['id']);
 * // { id: ['accounts.id'] }
 */
export function parsedColumnLineage(tree: unknown, inputs: Readonly<Record<string, Schema>>, outputs: readonly string[]): Record<string, InputColumn[]> | undefined {
  return parsedTransformLineage(tree, inputs, outputs)?.columns;
}

/**
 * The input columns that decide which rows a transform's SQL outputs, at any depth (CTEs,
 * subqueries): its filters (`WHERE`, `HAVING`, `QUALIFY`), join conditions and `USING` columns,
 * groupings and orders (by position or `GROUP BY ALL`: what the select list reads). With the
 * column lineage these are every input column the statement reads; what the walker cannot tell
 * reads every input column. Undefined when the tree is not one SELECT statement.
 *
 * @example
 * parsedIndirectReads(JSON.parse(tree), { accounts: { id: 'string', email: 'string' } }); // for "... WHERE email LIKE '%@%'": ['accounts.email']
 */
export function parsedIndirectReads(tree: unknown, inputs: Readonly<Record<string, Schema>>): InputColumn[] | undefined {
  const walked = walkStatement(tree, inputs);
  return walked === undefined ? undefined : walked.columns(union(walked.indirect));
}

/**
 * `parsedColumnLineage` and `parsedIndirectReads` of one statement from a single walk of its tree
 * (what loading a project stores per transform).
 *
 * @example
 * const parsed = parsedTransformLineage(JSON.parse(tree), inputs, ['id']); // { columns: { id: [...] }, indirect: [...] }
 */
export function parsedTransformLineage(tree: unknown, inputs: Readonly<Record<string, Schema>>, outputs: readonly string[]): { columns: Record<string, InputColumn[]>; indirect: InputColumn[] } | undefined {
  const walked = walkStatement(tree, inputs);
  if (walked === undefined) return undefined;
  return {
    columns: Object.fromEntries(outputs.map((output) => [output, walked.columns(lookup(walked.top, output.toLowerCase()) ?? EVERY)])),
    indirect: walked.columns(union(walked.indirect)),
  };
}

function walkStatement(tree: unknown, inputs: Readonly<Record<string, Schema>>): { top: Relation; indirect: readonly Reads[]; columns: (reads: Reads) => InputColumn[] } | undefined {
  const statements = isNode(tree) && tree.error !== true && Array.isArray(tree.statements) ? tree.statements : [];
  if (statements.length !== 1 || !isNode(statements[0])) return undefined;
  const every = Object.entries(inputs).flatMap(([input, schema]) => Object.keys(schema).map((c) => `${input}.${c}`));
  const byName = new Map(Object.entries(inputs).map(([input, schema]) => [input.toLowerCase(), { columns: Object.keys(schema).map((c) => ({ name: c.toLowerCase(), reads: new Set([`${input}.${c}`]) })) }]));
  const indirect: Reads[] = [];
  const top = queryRelation(statements[0].node, { relations: [], ctes: new Map(), inputs: byName, indirect });
  return { top, indirect, columns: (reads) => (reads === EVERY ? every : every.filter((c) => reads.has(c))) };
}
