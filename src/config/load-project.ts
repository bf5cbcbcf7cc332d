import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createJiti } from 'jiti';
import { classificationCatalog } from '../compliance/classification/catalog.js';
import { compileProject, type Project, type ProjectSpec } from '../definitions/index.js';
import { ConfigError, UserCodeError, isSluiceError } from '../errors.js';
import { withParsedLineage } from './parse-transform-lineage.js';
import { probeExpressions } from './probe-expressions.js';
import { selfEntry } from './self-package.js';

export const PROJECT_FILE = 'sluice.config.ts';

/** The path of the project's `sluice.config.ts`; a ConfigError naming the fix when there is none. */
export function projectFile(projectDir: string): string {
  const file = join(resolve(projectDir), PROJECT_FILE);
  if (!existsSync(file)) {
    throw new ConfigError('PROJECT_NOT_FOUND', `no ${PROJECT_FILE} in ${resolve(projectDir)}; run "sluice init ${projectDir}" or pass --project DIR`);
  }
  return file;
}

/**
 * Loads and compiles `sluice.config.ts` from a project directory. The file is TypeScript and may
 * `import ... from "sluice"` without an install of its own: the import resolves to this package.
 * Mistakes in definitions surface as DefinitionErrors naming the fix (row expressions' literal
 * arguments are checked by DuckDB itself, see `probeExpressions`); other exceptions thrown by
 * the file are wrapped in a UserCodeError that keeps their stack.
 */
export async function loadProject(projectDir: string): Promise<Project> {
  const spec = await loadProjectSpec(projectDir);
  // Column lineage from DuckDB's parser, stored with the project (see withParsedLineage).
  const project = await withParsedLineage(compileProject(spec));
  // Classification overrides are checked against what lineage gives them (a reason to lower one).
  classificationCatalog(project);
  await probeExpressions(spec, project);
  return project;
}

/**
 * Loads `sluice.config.ts` as written, functions included (request views' functions live only
 * there, never in the registry), without compiling it.
 */
export async function loadProjectSpec(projectDir: string): Promise<ProjectSpec> {
  const file = projectFile(projectDir);
  const jiti = createJiti(import.meta.url, { alias: { sluice: selfEntry() }, moduleCache: false, fsCache: false, interopDefault: true });
  let spec: unknown;
  try {
    spec = await jiti.import(file, { default: true });
  } catch (error) {
    if (isSluiceError(error)) throw error;
    throw new UserCodeError(`${whereThrown(error, dirname(file)) ?? file} failed to load: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  return spec as ProjectSpec;
}

/** `file:line:column` of the innermost stack frame in the project's own code, if any. */
function whereThrown(error: unknown, projectDir: string): string | undefined {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  for (const match of stack.matchAll(/(?:\(|at )((?:file:\/\/)?\/[^():\s]+):(\d+):(\d+)/g)) {
    const path = match[1]!.replace(/^file:\/\//, '');
    if (path.startsWith(projectDir) && !path.includes('/node_modules/')) return `${path}:${match[2]}:${match[3]}`;
  }
  return undefined;
}
