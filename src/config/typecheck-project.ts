import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ConfigError, DefinitionError } from '../errors.js';
import { PROJECT_FILE, projectFile } from './load-project.js';
import { selfTypes } from './self-package.js';

/** The file `sluice init` writes beside `sluice.config.ts`, for editors and `tsc -p`. */
export const TSCONFIG_FILE = 'tsconfig.json';

/**
 * The compiler options a project's `sluice.config.ts` is checked with, as `tsconfig.json` holds
 * them: `import ... from "sluice"` maps to the type declarations of the running Sluice, so the
 * project needs no install of its own. One home for both `sluice init` and `sluice plan`.
 */
export function projectCompilerOptions(): Record<string, unknown> {
  return {
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    lib: ['ES2023'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    paths: { sluice: [selfTypes()] },
  };
}

/** Writes the project's `tsconfig.json` (for editors; `sluice plan` checks with the same options). */
export async function writeProjectTsconfig(projectDir: string): Promise<void> {
  const tsconfig = { compilerOptions: projectCompilerOptions(), include: [PROJECT_FILE] };
  await writeFile(join(projectDir, TSCONFIG_FILE), `${JSON.stringify(tsconfig, null, 2)}\n`);
}

async function loadTypeScript(): Promise<typeof import('typescript')> {
  try {
    return (await import('typescript')).default;
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', 'type-checking sluice.config.ts needs the "typescript" package, which this sluice install lacks; reinstall sluice', { cause: error });
  }
}

/**
 * Type-checks `sluice.config.ts` (and what it imports) with the TypeScript compiler. Throws a
 * DefinitionError listing each error as `file:line:column error TSxxxx: message`.
 *
 * @example
 * await typecheckProject('.'); // before planning anything
 */
export async function typecheckProject(projectDir: string): Promise<void> {
  const file = projectFile(projectDir);
  const ts = await loadTypeScript();
  const { options, errors } = ts.convertCompilerOptionsFromJson(projectCompilerOptions(), resolve(projectDir));
  if (errors.length > 0) throw new Error(ts.flattenDiagnosticMessageText(errors[0]!.messageText, '\n'));
  const program = ts.createProgram({ rootNames: [file], options });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diagnostics.length === 0) return;
  const lines = diagnostics.slice(0, 20).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    if (!d.file || d.start === undefined) return `error TS${d.code}: ${text}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${relative(process.cwd(), d.file.fileName) || d.file.fileName}:${line + 1}:${character + 1} error TS${d.code}: ${text}`;
  });
  if (diagnostics.length > lines.length) lines.push(`... and ${diagnostics.length - lines.length} more`);
  const count = diagnostics.length === 1 ? '1 type error' : `${diagnostics.length} type errors`;
  throw new DefinitionError('DEFINITION_INVALID', `${PROJECT_FILE} has ${count}; fix them and run "sluice plan" again:\n  ${lines.join('\n  ')}`, {
    details: { diagnostics: lines },
  });
}
