import type { FeatureView, Project } from '../definitions/index.js';
import { DefinitionError, isSluiceError } from '../errors.js';
import { ident } from '../storage/engine/sql-engine.js';
import type { TransformContext } from './transforms/run-transform.js';
import { inputRelationSql } from './transforms/transform-schema.js';

/**
 * The one home of how a view's row transforms run: the compiled SQL of its `filter` and derived
 * columns (see `compileRowTransforms`) evaluated by DuckDB over a relation of typed source rows.
 * The batch path (materialize, dataset builds) and the incremental paths (push, connectors,
 * applied snapshots) all evaluate the same SQL text in the same engine, so their values agree bit
 * for bit; a second evaluator in JavaScript could not promise that (string, date and float
 * semantics would have to be re-implemented exactly).
 */

/** Whether a view has row transforms. */
export function hasRowTransforms(view: FeatureView): boolean {
  return view.filter !== undefined || view.derived !== undefined;
}

/** The rows of `relation` (typed source rows) that a view reads: its filter applied and its derived columns added. */
export function viewRowsSql(view: FeatureView, relation: string): string {
  if (!hasRowTransforms(view)) return relation;
  const derived = Object.entries(view.derived ?? {}).map(([name, column]) => `, ${column.sql} AS ${ident(name)}`);
  return `SELECT *${derived.join('')} FROM (${relation})${view.filter === undefined ? '' : ` WHERE ${view.filter}`}`;
}

/** The distinct expressions (filters and derived columns) of some views, each with the type its value has. */
export function rowExpressions(views: readonly FeatureView[]): { sql: string; type: string }[] {
  const out = new Map<string, string>();
  for (const view of views) {
    if (view.filter !== undefined) out.set(view.filter, 'bool');
    for (const column of Object.values(view.derived ?? {})) out.set(column.sql, column.type);
  }
  return [...out].map(([sql, type]) => ({ sql, type }));
}

/**
 * Binds every view's row transforms in DuckDB over an empty relation typed like its source, in a
 * sandboxed engine that reads no file: what `plan` and `apply` run, so an expression DuckDB cannot
 * compile (an invalid regular expression, an unknown `date_trunc` unit, a bad `strftime` format)
 * is refused before it is applied, not by every push and materialize after. A DefinitionError
 * names the view, the expression and DuckDB's message.
 *
 * @example
 * await checkRowTransforms(platform, project);
 */
export async function checkRowTransforms(ctx: Pick<TransformContext, 'newEngine'>, project: Project): Promise<void> {
  const views = project.featureViews.filter(hasRowTransforms);
  if (views.length === 0) return;
  const engine = await ctx.newEngine(1, { sandbox: { allowedPaths: [] } });
  try {
    for (const view of views) {
      const source = project.sources.find((s) => s.name === view.source)!;
      const expressions = [...(view.filter === undefined ? [] : [['filter', view.filter] as const]), ...Object.entries(view.derived ?? {}).map(([name, c]) => [`column "${name}"`, c.sql] as const)];
      for (const [what, sql] of expressions) {
        try {
          await engine.all(`SELECT ${sql} AS x FROM (${inputRelationSql(source, [])})`);
        } catch (error) {
          if (!isSluiceError(error) || error.code !== 'ADAPTER_FAILED') throw error;
          const message = error.message.replace(/^DuckDB: /, '').split('\n')[0];
          throw new DefinitionError('DEFINITION_INVALID', `feature view "${view.name}": ${what} (compiled as ${sql}) does not run in DuckDB: ${message}; fix the expression`, { cause: error, details: { view: view.name, expression: sql } });
        }
      }
    }
  } finally {
    await engine.close();
  }
}
