import type { Schema } from '../../definitions/index.js';

/** A column of a transform's input, as `<input>.<column>`. */
export type InputColumn = string;

interface Token {
  readonly text: string;
  /** Lower-cased identifier (unquoted), or undefined for punctuation and literals. */
  readonly ident?: string;
  readonly depth: number;
}

/** Words the column scan skips: they are SQL, not column names (a column named like one is still found where it is quoted). */
const KEYWORDS = new Set(['select', 'from', 'where', 'group', 'by', 'order', 'having', 'as', 'and', 'or', 'not', 'null', 'is', 'in', 'case', 'when',
  'then', 'else', 'end', 'distinct', 'all', 'on', 'join', 'left', 'right', 'inner', 'outer', 'full', 'cross', 'using', 'limit', 'offset', 'true',
  'false', 'cast', 'interval', 'like', 'ilike', 'between', 'exclude', 'replace', 'over', 'partition', 'filter', 'asc', 'desc', 'qualify', 'window',
  'union', 'intersect', 'except', 'with', 'recursive']);

/** Tokens of SQL with comments and string literals removed; identifiers unquoted and lower-cased, with their parenthesis depth. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) i++;
    else if (sql.startsWith('--', i)) i = sql.includes('\n', i) ? sql.indexOf('\n', i) : sql.length;
    else if (sql.startsWith('/*', i)) i = sql.includes('*/', i) ? sql.indexOf('*/', i) + 2 : sql.length;
    else if (c === "'") {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      tokens.push({ text: "''", depth });
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      const name = sql.slice(i + 1, j).replaceAll('""', '"');
      tokens.push({ text: name, ident: name.toLowerCase(), depth });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))![0];
      tokens.push({ text: word, ident: KEYWORDS.has(word.toLowerCase()) ? undefined : word.toLowerCase(), depth });
      i += word.length;
    } else {
      if (c === ')') depth--;
      tokens.push({ text: c, depth });
      if (c === '(') depth++;
      i++;
    }
  }
  return tokens;
}

const isWord = (t: Token | undefined, word: string): boolean => t !== undefined && t.ident === undefined && t.text.toLowerCase() === word;

/**
 * The input columns an item's expression reads, or undefined when it may reach one without naming
 * it: an identifier that is no input column (a table or its alias used as a row, a lateral or
 * lambda name, an earlier item's alias), a positional reference (`#2`), `COLUMNS(...)`, or a star
 * inside the expression. Function names, qualifiers (`a.`), cast types and typed literals
 * (`DATE '...'`) are not reads.
 */
function expressionReads(expr: readonly Token[], columns: ReadonlyMap<string, readonly InputColumn[]>): InputColumn[] | undefined {
  const found = new Set<InputColumn>();
  for (let i = 0; i < expr.length; i++) {
    const t = expr[i]!;
    const before = expr[i - 1];
    const after = expr[i + 1];
    if (t.text === '#') return undefined;
    if (t.text === '*') {
      const counted = before?.text === '(' && expr[i - 2]?.ident === 'count' && after?.text === ')';
      if (!counted && (before === undefined || ['(', ',', '.'].includes(before.text))) return undefined;
      continue;
    }
    if (t.ident === undefined) continue;
    if (after?.text === '(') {
      if (t.ident === 'columns') return undefined;
      continue;
    }
    const isType = (before?.text === ':' && expr[i - 2]?.text === ':') || isWord(before, 'as');
    if (after?.text === '.' || after?.text === "''" || isType) continue;
    const read = columns.get(t.ident);
    if (read === undefined) return undefined;
    for (const column of read) found.add(column);
  }
  return [...found];
}

/** An item's expression: the item without its alias (`AS x`, or `expr x`). */
function expressionOf(item: readonly Token[]): readonly Token[] {
  if (item.length > 1 && isWord(item[item.length - 2], 'as')) return item.slice(0, -2);
  if (item.length === 1 || (item.length === 3 && item[1]!.text === '.')) return item;
  return item.slice(0, -1);
}

const FROM_ENDS = ['where', 'group', 'having', 'qualify', 'window', 'order', 'limit', 'offset'];

/**
 * Whether a FROM clause (its top-level tokens) only names tables: a parenthesis other than
 * `USING (...)` or in an ON condition may be a table function, VALUES, a lateral subquery or a
 * column alias list (`accounts a(x, y)`), each able to put an input column under another name.
 */
function plainFrom(from: readonly Token[]): boolean {
  let inOn = false;
  for (let i = 0; i < from.length; i++) {
    const t = from[i]!;
    if (FROM_ENDS.some((w) => isWord(t, w))) return true;
    if (isWord(t, 'on')) inOn = true;
    else if (isWord(t, 'join') || t.text === ',') inOn = false;
    else if (t.text === '(' && !inOn && !isWord(from[i - 1], 'using')) return false;
  }
  return true;
}

/** Splits tokens at commas of the given depth. */
function splitAt(tokens: readonly Token[], depth: number): Token[][] {
  const items: Token[][] = [[]];
  for (const t of tokens) {
    if (t.text === ',' && t.depth === depth) items.push([]);
    else items[items.length - 1]!.push(t);
  }
  return items.filter((item) => item.length > 0);
}

/** The output name of one select item: its alias, or the column it names; `*` for a star; undefined when it cannot be told. */
function outputName(item: readonly Token[]): string | undefined {
  const last = item[item.length - 1]!;
  const star = item.findIndex((t) => t.text === '*' && t.depth === item[0]!.depth);
  // `* REPLACE (expr AS col)` puts any expression under an input column's name: not a plain star.
  if (star >= 0 && (star === 0 || item[star - 1]!.text === '.') && (star === item.length - 1 || isWord(item[star + 1], 'exclude'))) return '*';
  if (last.ident === undefined) return undefined;
  if (item.length === 1 || isWord(item[item.length - 2], 'as')) return last.ident;
  if (item.length === 3 && item[1]!.text === '.') return last.ident;
  // `expr alias`: an identifier after a complete expression (not after an operator or a dot).
  const before = item[item.length - 2]!;
  const ends = before.text === ')' || before.ident !== undefined || before.text === "''" || /^[0-9]/.test(before.text) || ['end', 'null', 'true', 'false'].some((w) => isWord(before, w));
  return ends ? last.ident : undefined;
}

/**
 * Which input columns each output column of a transform's SQL is computed from: column-level
 * lineage, read from the SQL's tokens (no engine needed, so every path can compute it).
 *
 * Precise for one top-level SELECT over tables named in a plain FROM: each output column comes
 * from the input columns its select item names (an expression, an aggregate, `t.col AS x`);
 * `*` and `t.*` carry each input column to the output column of the same name. Columns that only
 * filter, join or group rows (WHERE, ON, GROUP BY) are not lineage. Conservative everywhere
 * else: with a WITH clause, a subquery, a set operation (UNION, ...), a FROM with a table
 * function, VALUES, a lateral or a column alias list, or an item that may reach a column without
 * naming it (`to_json(t)`, a lateral name, `#2`, `COLUMNS(...)`, `* REPLACE`), the output column
 * comes from every column of every input. Never less than the truth, sometimes more.
 *
 * @example
 * transformColumnLineage('SELECT a.id, lower(a.email) AS mail FROM accounts a', { accounts: { id: 'string', email: 'string' } }, ['id', 'mail']);
 * // { id: ['accounts.id'], mail: ['accounts.email'] }
 */
export function transformColumnLineage(sql: string, inputs: Readonly<Record<string, Schema>>, outputs: readonly string[]): Record<string, InputColumn[]> {
  const columns = new Map<string, InputColumn[]>();
  for (const [input, schema] of Object.entries(inputs)) {
    for (const column of Object.keys(schema)) columns.set(column.toLowerCase(), [...(columns.get(column.toLowerCase()) ?? []), `${input}.${column}`]);
  }
  const every = [...columns.values()].flat();
  const tokens = tokenize(sql);
  const sameName = (output: string): InputColumn[] => columns.get(output.toLowerCase()) ?? [];
  const top = tokens.filter((t) => t.depth === 0);
  const from = top.findIndex((t) => isWord(t, 'from'));
  const simple = isWord(top[0], 'select') && !top.some((t) => ['union', 'intersect', 'except', 'with'].some((w) => isWord(t, w)))
    && !tokens.some((t, i) => t.depth > 0 && isWord(t, 'select') && tokens[i - 1]?.text === '(')
    && (from < 0 || plainFrom(top.slice(from + 1)));
  if (!simple) return Object.fromEntries(outputs.map((o) => [o, every]));
  let list = tokens.slice(1, from < 0 ? tokens.length : tokens.indexOf(top[from]!));
  if (isWord(list[0], 'distinct') || isWord(list[0], 'all')) list = list.slice(1);
  if (isWord(list[0], 'on')) list = list.slice(list.findIndex((t, i) => i > 0 && t.text === ')' && t.depth === 0) + 1);
  const items = new Map<string, InputColumn[]>();
  let stars = false;
  let unreadable = false;
  for (const item of splitAt(list, 0)) {
    const name = outputName(item);
    if (name === '*') stars = true;
    else if (name === undefined) unreadable = true;
    else items.set(name, expressionReads(expressionOf(item), columns) ?? every);
  }
  return Object.fromEntries(outputs.map((output) => {
    const item = items.get(output.toLowerCase());
    if (item !== undefined) return [output, item];
    if (stars && !unreadable && sameName(output).length > 0) return [output, sameName(output)];
    return [output, every];
  }));
}
