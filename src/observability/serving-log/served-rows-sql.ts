import { literal, literalList } from '../../storage/engine/sql-engine.js';
import { impliedStatus, STATUS_CODES } from './served-row.js';

const VALUE_NAMES = '_sluice_value_names';
const VALUE_LIST = '_sluice_value_list';
const STATUS = '_sluice_status';

/** The column of `servedRowsSql` holding a row's entity key (text). */
export const servedEntityKeySql = '_sluice_entity_key';
/** The column of `servedRowsSql` holding a row's `servedAt` (epoch ms, BIGINT). */
export const servedAtSql = '_sluice_served_at';

/**
 * The served rows of `files` as a DuckDB relation, set-based, whatever their line's format: the
 * entity key (`servedEntityKeySql`), `servedAt` (`servedAtSql`), and what `servedValueSql` and
 * `servedStatusSql` read: the names of its values in order (a compact row's from the names line its
 * `columns` id refers to, joined by id: the id is a hash of the names, the same in every file), a
 * compact row's values as a list and its status letters, and `json`, the row line (NULL for a row
 * of a request line). The rows a request line holds (since 2026-11-30 (17)) are its
 * `rows` list unnested, each `[entityKey, values, status?, keys?]` with the line's `servedAt`, the
 * line and each row kept only when the JS reader reads them (a line DuckDB's JSON refuses for a lone
 * surrogate is read with U+FFFD in its place: `lineJsonSql`) (`requestPartsSql`, `requestRowSql`;
 * the differences left are listed in docs/serving-log.md); row lines (compact, lean, whole) are read as before. Names lines and torn lines are left out. The
 * files are read once.
 *
 * @example
 * `SELECT ${servedEntityKeySql}, ${servedValueSql('txn__count_7d')} FROM ${servedRowsSql(files)}`
 */
export function servedRowsSql(files: readonly string[]): string {
  const lines = '_sluice_log_lines';
  const columns = '_sluice_log_columns';
  const requests = '_sluice_log_requests';
  const tuples = '_sluice_log_tuples';
  const field = (path: string, table = lines) => `json_extract_string(${table}.json, '$.${path}')`;
  const servedAt = `TRY_CAST(json_extract(${lines}.json, '$.servedAt') AS BIGINT)`;
  return `(WITH ${lines} AS MATERIALIZED (SELECT ${lineJsonSql('line')} AS json FROM ${rawLinesSql(files)}),
    ${columns} AS (SELECT ${field('columns')} AS id, any_value(json_extract_string(json, '$.names[*]')) AS names FROM ${lines}
      WHERE ${field('entityKey')} IS NULL AND json_extract(json, '$.names') IS NOT NULL AND ${field('columns')} IS NOT NULL GROUP BY 1),
    ${requests} AS (SELECT json_transform(json, '{"servedAt":"BIGINT","columns":"VARCHAR","rows":"JSON[]"}') AS line,
      coalesce(json_array_length(json, '$.joinKeys') = 1 AND json_type(json, '$.joinKeys[0]') = 'VARCHAR', false) AS one_key FROM ${lines}
      WHERE ${field('entityKey')} IS NULL AND ${requestPartsSql('json')}),
    ${tuples} AS (SELECT unnest(line.rows) AS tuple, line.servedAt AS served_at, line.columns AS id, one_key FROM ${requests} WHERE line.rows IS NOT NULL)
    SELECT ${lines}.json, ${field('entityKey')} AS ${servedEntityKeySql}, ${servedAt} AS ${servedAtSql},
      CASE WHEN ${field('columns')} IS NULL THEN json_keys(${lines}.json, '$.values') ELSE ${columns}.names END AS ${VALUE_NAMES},
      CASE WHEN ${columns}.names IS NOT NULL THEN json_extract(${lines}.json, '$.values[*]') END AS ${VALUE_LIST}, ${field('status')} AS ${STATUS}
    FROM ${lines} LEFT JOIN ${columns} ON ${columns}.id = ${field('columns')} WHERE ${field('entityKey')} IS NOT NULL
    UNION ALL
    SELECT NULL::JSON, json_extract_string(tuple, '$[0]'), served_at, ${columns}.names,
      CASE WHEN ${columns}.names IS NOT NULL THEN json_extract(tuple, '$[1][*]') END, json_extract_string(tuple, '$[2]')
    FROM ${tuples} JOIN ${columns} ON ${columns}.id = ${tuples}.id WHERE ${requestRowSql('tuple', `${columns}.names`)})`;
}

/**
 * Each line of `files` as text, in a column `line`: one column per line (no delimiter or quote a
 * written line holds: JSON escapes every control character), so no line is refused by a parser (up to 16 MiB a line, as DuckDB's JSON reader reads).
 */
function rawLinesSql(files: readonly string[]): string {
  return `read_csv(${literalList(files)}, columns = {'line': 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '', auto_detect = false, max_line_size = 16777216)`;
}

/**
 * A line as DuckDB's JSON, NULL when it is not JSON (a torn line). JSON.stringify writes a lone
 * surrogate as an escape (`\ud800`), which the JS reader reads and DuckDB's JSON refuses; a line
 * DuckDB refuses is read again with every surrogate escape as U+FFFD (JSON.stringify writes a
 * pair as its character, never as escapes), so its rows are read as the JS reader reads them, a
 * lone surrogate in a key or value showing as U+FFFD.
 */
function lineJsonSql(line: string): string {
  const repaired = `regexp_replace(${line}, '\\\\u[dD][89a-fA-F][0-9a-fA-F]{2}', '\\\\ufffd', 'g')`;
  return `CASE WHEN json_valid(${line}) THEN ${line}::JSON WHEN json_valid(${repaired}) THEN ${repaired}::JSON END`;
}

/** A request line's parts of its rows as the JS reader requires them (`servedLogLines`): a request id, service, `asOf` and `views`, and a numeric `servedAt`. */
function requestPartsSql(json: string): string {
  const type = (path: string) => `json_type(${json}, '$.${path}')`;
  return `${type('requestId')} = 'VARCHAR' AND ${type('service')} = 'VARCHAR' AND ${type('asOf')} = 'VARCHAR' AND ${type('servedAt')} IN ('BIGINT', 'UBIGINT', 'DOUBLE') AND ${type('views')} = 'OBJECT'`;
}

/**
 * A row of a request line that the JS reader reads (`requestRow`): a list of 2 to 4, a string
 * entity key, as many values as names, status letters each in `STATUS_CODES` and one per name (or
 * none: null or left out), its keys an object (or left out when the line has one join key).
 */
function requestRowSql(tuple: string, names: string): string {
  const type = (i: number) => `coalesce(json_type(${tuple}, '$[${i}]'), 'NULL')`;
  const status = `json_extract_string(${tuple}, '$[2]')`;
  const letters = literal(`[${Object.values(STATUS_CODES).join('')}]*`);
  return `json_type(${tuple}) = 'ARRAY' AND json_array_length(${tuple}) BETWEEN 2 AND 4 AND ${type(0)} = 'VARCHAR'
      AND ${type(1)} = 'ARRAY' AND json_array_length(${tuple}, '$[1]') = len(${names})
      AND (${type(2)} = 'NULL' OR (${type(2)} = 'VARCHAR' AND length(${status}) = len(${names}) AND regexp_full_match(${status}, ${letters})))
      AND (${type(3)} = 'OBJECT' OR (${type(3)} = 'NULL' AND one_key))`;
}

/** SQL over `servedRowsSql`: the value of `feature` in a row as text (as `json_extract_string` gives it), NULL when the row has none. */
export function servedValueSql(feature: string): string {
  return `CASE WHEN ${VALUE_LIST} IS NULL THEN json_extract_string(json, ${literal(`$.values."${feature}"`)}) ELSE json_extract_string(${VALUE_LIST}[list_position(${VALUE_NAMES}, ${literal(feature)})], '$') END`;
}

/**
 * SQL over `servedRowsSql`: the status of `feature` in a row (`PRESENT`, ...), NULL when the row has
 * no value for it; a compact row without status letters has the one its value implies (NULL for null, else PRESENT).
 */
export function servedStatusSql(feature: string): string {
  const position = `list_position(${VALUE_NAMES}, ${literal(feature)})`;
  const letter = `substr(${STATUS}, ${position}, 1)`;
  const decode = Object.entries(STATUS_CODES).map(([name, code]) => `WHEN ${literal(code)} THEN ${literal(name)}`).join(' ');
  const implied = `CASE WHEN ${VALUE_LIST} IS NULL OR ${STATUS} IS NOT NULL OR ${position} IS NULL THEN NULL WHEN json_type(${VALUE_LIST}[${position}]) = 'NULL' THEN ${literal(impliedStatus(true))} ELSE ${literal(impliedStatus(false))} END`;
  return `coalesce(json_extract_string(json, ${literal(`$.statuses."${feature}"`)}), CASE ${letter} ${decode} END, ${implied})`;
}
