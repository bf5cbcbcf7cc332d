import { fail } from '../validate-names.js';
import { didYouMean } from '../suggest.js';
import { CAST_SQL, checkExpression, type TypedExpression } from './check.js';
import { parseExpression, type ExprType } from './parse.js';
import { ExpressionError } from './tokenize.js';

export type { ExprType } from './parse.js';
export type { TypedExpression } from './check.js';

/**
 * Compiles a row expression of a definition (a view's `filter`, a derived column's `sql`) against
 * the row's columns: parsed, type-checked and rendered as canonical DuckDB SQL. A mistake is a
 * DefinitionError naming the definition, the expression and the 1-based character position.
 *
 * @example
 * compileExpression('feature view "v", filter', "channel IN ('pos')", { channel: 'string' });
 */
export function compileExpression(where: string, text: unknown, columns: Readonly<Record<string, ExprType>>, now?: string): TypedExpression {
  if (typeof text !== 'string' || text.trim() === '') fail(`${where}: must be a SQL expression string, not ${JSON.stringify(text)}`);
  try {
    return checkExpression(parseExpression(text), columns, now);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    const unknown = /^unknown column "(.*)"$/.exec(error.message);
    const hint = unknown ? didYouMean(unknown[1]!, Object.keys(columns)) : '';
    failAt(where, text, error.at, `${error.message}${hint}`);
  }
}

/** A DefinitionError for expression `text` of `where`, at offset `at`, pointing at it. */
export function failAt(where: string, text: string, at: number, message: string): never {
  fail(`${where} "${text}": at character ${at + 1}: ${message}\n  ${text}\n  ${' '.repeat(at)}^`, { expression: text, position: at + 1 });
}

/**
 * The SQL a filter runs as: true keeps the row; false, NULL and an error (overflow, a failed
 * cast) drop it, the same on every path.
 */
export function filterSql(expression: TypedExpression): string {
  return `coalesce(TRY(${expression.sql}), false)`;
}

/** The SQL a derived column runs as: its value in the column's storage type; NULL when the expression fails for the row. */
export function derivedSql(expression: TypedExpression, type: ExprType): string {
  return `TRY(CAST(${expression.sql} AS ${CAST_SQL[type]}))`;
}
