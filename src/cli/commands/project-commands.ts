import { cp, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadProject, PROJECT_FILE } from '../../config/load-project.js';
import { projectDirectory } from '../../config/project-dir.js';
import { typecheckProject, writeProjectTsconfig } from '../../config/typecheck-project.js';
import { planChanges } from '../../definitions/index.js';
import { ConfigError, ConflictError } from '../../errors.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

const SYMBOL = { add: '+', change: '~', remove: '-' } as const;

/** `init`, `plan`, `apply`: the project's definitions and the registry. */
export function registerProjectCommands(program: Command, run: CommandContext): void {
  program
    .command('init')
    .argument('<dir>', 'directory for the new project')
    .description('create a project with an example sluice.config.ts and sample data')
    .action((dir: string) =>
      run.withOutput(async (out) => {
        const target = projectDirectory(dir, { mayCreate: true });
        if (existsSync(join(target, PROJECT_FILE))) throw new ConflictError('CONFLICT', `${join(target, PROJECT_FILE)} already exists; choose another directory`);
        const example = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'fraud');
        if (!existsSync(example)) throw new ConfigError('CONFIG_INVALID', `this sluice install has no example project (${example}); reinstall sluice from a package that includes examples/`);
        await mkdir(target, { recursive: true });
        await cp(example, target, { recursive: true });
        await writeProjectTsconfig(target);
        const files = await readdir(target, { recursive: true });
        out.result({ project: target, files }, () =>
          [`created ${target}`, ...files.map((f) => `  ${f}`), '', `next: cd ${dir} && sluice plan && sluice apply`].join('\n'),
        );
      }),
    );

  program
    .command('plan')
    .description('show what apply would add, change and remove in the registry')
    .action(() =>
      run.withPlatform(async ({ platform, out, projectDir }) => {
        await typecheckProject(projectDir);
        const project = await loadProject(projectDir);
        const current = await platform.metadata.latestRegistry();
        const changes = planChanges(current?.project, project);
        out.result({ registryVersion: current?.version ?? null, changes }, () =>
          changes.length === 0
            ? 'No changes. The registry matches sluice.config.ts.'
            : [...changes.map((c) => `  ${SYMBOL[c.action]} ${c.kind} ${c.name}`), '', `Plan: ${count(changes, 'add')} to add, ${count(changes, 'change')} to change, ${count(changes, 'remove')} to remove.`].join('\n'),
        );
      }),
    );

  program
    .command('apply')
    .description('record sluice.config.ts as a new registry version')
    .action(() =>
      run.withPlatform(async ({ platform, out, projectDir }) => {
        const project = await loadProject(projectDir);
        const current = await platform.metadata.latestRegistry();
        const changes = planChanges(current?.project, project);
        if (changes.length === 0 && current) {
          out.result({ registryVersion: current.version, changes }, () => `No changes. Registry stays at version ${current.version}.`);
          return;
        }
        const applied = await platform.metadata.recordRegistry(project);
        out.result({ registryVersion: applied.version, changes }, () =>
          [table(['', 'kind', 'name'], changes.map((c) => [SYMBOL[c.action], c.kind, c.name])), '', `Applied: registry version ${applied.version}.`].join('\n'),
        );
      }),
    );
}

function count(changes: readonly { action: string }[], action: string): number {
  return changes.filter((c) => c.action === action).length;
}
