import { rowTransformProbes } from '../definitions/compile-row-transforms.js';
import { failAt } from '../definitions/expression/index.js';
import type { Project, ProjectSpec } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import { DefinitionError } from '../errors.js';
import { checkProbeSql } from '../quality/evaluate-checks.js';

/** The checks whose predicate DuckDB must accept (see `checkProbeSql`), with where they are declared. */
function checkProbes(project: Project): { where: string; description: string; sql: string }[] {
  const datasets = [
    ...project.sources.map((s) => ({ where: `${s.kind === 'transform' ? 'transform' : 'source'} "${s.name}"`, schema: s.schema, checks: s.checks ?? [] })),
    ...project.featureViews.map((v) => ({
      where: `feature view "${v.name}"`, checks: v.checks ?? [],
      schema: { ...Object.fromEntries(v.joinKeys.map((k) => [k, v.columnTypes[k]!])), ...Object.fromEntries(v.features.map((f) => [f.name, f.valueType])) },
    })),
  ];
  return datasets.flatMap((d) => d.checks.flatMap((check) => {
    const sql = checkProbeSql(d.schema, check);
    return sql === undefined ? [] : [{ where: `${d.where}: check "${check.name}"`, description: check.description, sql }];
  }));
}

/**
 * Runs the probes of a project's row expressions (see `rowTransformProbes`) in a throwaway
 * in-memory DuckDB: an argument DuckDB refuses (a regex that does not compile, an unknown date
 * part or format specifier) is a DefinitionError naming the view, the expression and the
 * position, with DuckDB's reason. Costs nothing for a project without row transforms.
 */
export async function probeExpressions(spec: ProjectSpec, project: Project): Promise<void> {
  const probes = rowTransformProbes(spec, project);
  const checks = checkProbes(project);
  if (probes.length === 0 && checks.length === 0) return;
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB', sandbox: { allowedPaths: [] } });
  try {
    for (const probe of probes) {
      try {
        await engine.all(`SELECT ${probe.sql} AS probe`);
      } catch (error) {
        failAt(probe.where, probe.text, probe.at, `DuckDB refuses this call: ${String((error as Error).message).replace(/^DuckDB: /, '').split('\n')[0]}`);
      }
    }
    for (const probe of checks) {
      await engine.all(probe.sql).catch((error: unknown) => {
        throw new DefinitionError('DEFINITION_INVALID', `${probe.where}: DuckDB refuses its predicate "${probe.description}": ${String((error as Error).message).replace(/^DuckDB: /, '').split('\n')[0]}`);
      });
    }
  } finally {
    await engine.close();
  }
}
