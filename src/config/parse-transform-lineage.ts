import { parsedTransformLineage } from '../compliance/classification/parsed-lineage.js';
import type { Project } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import { literal } from '../storage/engine/sql-engine.js';

/**
 * The project with each SQL transform's column lineage read from DuckDB's own parse tree
 * (`json_serialize_sql`, in a throwaway in-memory DuckDB; see `parsedTransformLineage`), so the
 * registry stores it and every reader of the classification uses it. A transform whose SQL
 * DuckDB cannot serialize keeps none (its outputs count as read from every input column). Costs nothing without
 * transforms.
 *
 * @example
 * const project = await withParsedLineage(compileProject(spec));
 */
export async function withParsedLineage(project: Project): Promise<Project> {
  const transforms = project.transforms ?? [];
  if (transforms.length === 0) return project;
  const schemas = new Map(project.sources.map((s) => [s.name, s.schema]));
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB', sandbox: { allowedPaths: [] } });
  try {
    const parsed = [];
    for (const transform of transforms) {
      // A statement DuckDB cannot serialize keeps no parsed lineage: every input column applies, and binding it reports the SQL's mistake.
      const tree = await engine.all<{ tree: string }>(`SELECT json_serialize_sql(${literal(transform.sql)})::VARCHAR AS tree`).then(([row]) => JSON.parse(row!.tree) as unknown, () => undefined);
      const inputs = Object.fromEntries(transform.inputs.map((i) => [i, schemas.get(i) ?? {}]));
      const lineage = parsedTransformLineage(tree, inputs, Object.keys(transform.schema));
      parsed.push(lineage === undefined ? transform : Object.freeze({ ...transform, columnInputs: Object.freeze(lineage.columns), rowInputs: Object.freeze(lineage.rows) }));
    }
    return Object.freeze({ ...project, transforms: Object.freeze(parsed) });
  } finally {
    await engine.close();
  }
}
