import type { Transform } from '../../definitions/index.js';
import { DefinitionError, PolicyError } from '../../errors.js';
import { literal, type SqlEngine } from '../../storage/engine/sql-engine.js';

/**
 * Scalar functions a transform may not call: they read the engine's configuration or environment,
 * or run SQL given as data (which would escape this check). Table functions are all refused.
 */
const REFUSED_FUNCTIONS = new Set(['getenv', 'current_setting', 'getvariable', 'which_secret', 'current_query', 'txid_current',
  'json_execute_serialized_sql', 'json_serialize_sql', 'json_deserialize_sql', 'json_serialize_plan']);
const REFUSED_PREFIXES = ['duckdb_', 'pragma_'];
/** Table functions that compute rows from their arguments alone (no file, no catalog): allowed. */
const PURE_TABLE_FUNCTIONS = new Set(['unnest', 'range', 'generate_series']);
/**
 * Functions (and SQL keywords the parser reads as columns) whose value is not a function of the
 * inputs: a run must give the same table from the same input snapshots.
 */
const NOT_DETERMINISTIC = new Set(['now', 'today', 'get_current_time', 'get_current_timestamp', 'transaction_timestamp', 'current_timestamp', 'current_date', 'current_time', 'localtimestamp', 'localtime',
  'random', 'setseed', 'uuid', 'gen_random_uuid', 'uuidv4', 'uuidv7', 'nextval', 'currval']);

/** DuckDB's "no location" marker in a parse tree. */
const NO_LOCATION = 2 ** 64 - 1;

type Node = Record<string, unknown>;

interface Refusal {
  readonly capability: string;
  readonly location?: number;
}

const at = (node: Node): number | undefined => {
  const location = node.query_location;
  return typeof location === 'number' && location < NO_LOCATION ? location : undefined;
};

/** The names a node's `WITH` clause defines, visible in the node and in the CTEs themselves (recursive CTEs). */
function cteNames(node: Node): string[] {
  const map = (node.cte_map as { map?: Array<{ key?: unknown }> } | undefined)?.map ?? [];
  return map.flatMap((entry) => (typeof entry.key === 'string' ? [entry.key.toLowerCase()] : []));
}

/**
 * Walks a parse tree from `json_serialize_sql`: every table a query reads must be an input (or
 * a CTE in scope), and no table function, schema-qualified name, DESCRIBE/SHOW or refused
 * function may appear. Returns the first refusal found.
 */
function findRefusal(node: unknown, inputs: ReadonlySet<string>, scope: ReadonlySet<string>): Refusal | undefined {
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = findRefusal(child, inputs, scope);
      if (found) return found;
    }
    return undefined;
  }
  if (node === null || typeof node !== 'object') return undefined;
  const n = node as Node;
  const ctes = cteNames(n);
  const visible = ctes.length === 0 ? scope : new Set([...scope, ...ctes]);
  if (n.type === 'BASE_TABLE') {
    const table = String(n.table_name);
    const qualifier = [n.catalog_name, n.schema_name].filter((q) => typeof q === 'string' && q !== '').join('.');
    if (qualifier !== '') return { capability: `reading table "${qualifier}.${table}" (catalog and schema tables such as information_schema are not inputs)`, location: at(n) };
    if (!inputs.has(table.toLowerCase()) && !visible.has(table.toLowerCase())) return { capability: `reading "${table}", which is not one of its inputs`, location: at(n) };
  }
  if (n.type === 'TABLE_FUNCTION' && !PURE_TABLE_FUNCTIONS.has(String((n.function as Node | undefined)?.function_name).toLowerCase())) {
    const name = String((n.function as Node | undefined)?.function_name ?? '?');
    return { capability: `the table function ${name}() (table functions read files and the catalog)`, location: at(n) };
  }
  const column = n.class === 'COLUMN_REF' && Array.isArray(n.column_names) && n.column_names.length === 1 ? String(n.column_names[0]).toLowerCase() : undefined;
  if (column !== undefined && NOT_DETERMINISTIC.has(column)) return { capability: `${column.toUpperCase()} (it is not deterministic: a run must give the same table from the same input snapshots)`, location: at(n) };
  if (n.sample !== null && typeof n.sample === 'object') return { capability: 'USING SAMPLE and TABLESAMPLE (a sample is not deterministic: a run must give the same table from the same input snapshots)', location: at(n) };
  if (n.type === 'SHOW_REF') return { capability: 'DESCRIBE, SHOW and SUMMARIZE', location: at(n) };
  if (n.class === 'FUNCTION') {
    const name = String(n.function_name).toLowerCase();
    // Functions are judged by name, qualified or not: the parser itself qualifies some (`[1, 2]` is `main.list_value`).
    if (NOT_DETERMINISTIC.has(name)) return { capability: `the function ${name}() (it is not deterministic: a run must give the same table from the same input snapshots)`, location: at(n) };
    if (REFUSED_FUNCTIONS.has(name) || REFUSED_PREFIXES.some((p) => name.startsWith(p))) return { capability: `the function ${name}() (it reads the engine's settings or environment, or runs SQL given as data)`, location: at(n) };
  }
  for (const [key, child] of Object.entries(n)) {
    if (key === 'cte_map' || (child !== null && typeof child === 'object')) {
      const found = findRefusal(child, inputs, visible);
      if (found) return found;
    }
  }
  return undefined;
}

interface Serialized {
  readonly error: boolean;
  readonly error_type?: string;
  readonly error_message?: string;
  readonly position?: string;
  readonly statements?: unknown[];
}

/**
 * Checks a transform's SQL with DuckDB's own parser before anything runs it: it must be one
 * SELECT query (no COPY, ATTACH, INSTALL/LOAD, PRAGMA, SET, CREATE, INSERT, ... and no second
 * statement) that reads only the transform's inputs: no table functions but `unnest`, `range` and `generate_series` (`read_csv`,
 * `read_parquet`, `glob`, `read_text`, `duckdb_tables`, ...), no files named as tables, no
 * catalog tables (`information_schema`, `sqlite_master`) and no function that reads the engine's
 * settings. Returns the query as DuckDB prints its parse tree back, the text that runs (so what
 * runs is what was checked). A refusal is a PolicyError naming the capability; SQL that does not
 * parse is a DefinitionError with DuckDB's message. The run happens in a DuckDB without file
 * access besides the input and output files, a second wall behind this one.
 *
 * @example
 * const sql = await checkTransformSql(engine, transform);
 */
export async function checkTransformSql(engine: SqlEngine, transform: Transform): Promise<string> {
  const where = `transform "${transform.name}"`;
  const [row] = await engine.all<{ tree: string }>(`SELECT json_serialize_sql(${literal(transform.sql)})::VARCHAR AS tree`);
  const tree = JSON.parse(row!.tree) as Serialized;
  if (tree.error) {
    if (tree.error_type === 'parser') throw new DefinitionError('DEFINITION_INVALID', `${where}: its SQL does not parse: ${tree.error_message}${tree.position === undefined ? '' : ` (at character ${tree.position})`}`);
    const keyword = /^\s*([A-Za-z]+)/.exec(transform.sql)?.[1]?.toUpperCase();
    const found = keyword === undefined || keyword === 'SELECT' || keyword === 'WITH' || keyword === 'FROM' ? 'a statement that is not a SELECT' : `${keyword}`;
    throw new PolicyError('POLICY_DENIED', `${where}: ${found} is not allowed; a transform's SQL is one SELECT query over its inputs (COPY, ATTACH, INSTALL, LOAD, PRAGMA, SET, CREATE, DROP, INSERT and other statements are refused)`, { details: { transform: transform.name, duckdb: tree.error_message } });
  }
  const statements = tree.statements ?? [];
  if (statements.length !== 1) {
    throw new PolicyError('POLICY_DENIED', `${where}: multiple statements (${statements.length}) are not allowed; a transform's SQL is one SELECT query`, { details: { transform: transform.name } });
  }
  const refusal = findRefusal(statements, new Set(transform.inputs.map((i) => i.toLowerCase())), new Set());
  if (refusal) {
    const position = refusal.location === undefined ? '' : ` (at character ${refusal.location})`;
    throw new PolicyError('POLICY_DENIED', `${where}: ${refusal.capability} is not allowed${position}; a transform reads only its declared inputs (${transform.inputs.join(', ')}), named as tables`, {
      details: { transform: transform.name, capability: refusal.capability },
    });
  }
  const [printed] = await engine.all<{ sql: string }>(`SELECT json_deserialize_sql(${literal(row!.tree)}::JSON) AS sql`);
  return printed!.sql;
}
