import { cp, mkdir, readdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadProject, PROJECT_FILE } from '../../config/load-project.js';
import { projectDirectory } from '../../config/project-dir.js';
import { TSCONFIG_FILE, typecheckProject, writeProjectTsconfig } from '../../config/typecheck-project.js';
import { assertApplicable, planChanges, type DefinitionChange } from '../../definitions/index.js';
import { ConfigError, ConflictError } from '../../errors.js';
import { checkRowTransforms } from '../../processing/row-transforms.js';
import { checkTransforms } from '../../processing/transforms/run-transform.js';
import { auditTransfers, enforceResidency } from '../../compliance/residency/index.js';
import { audited } from './audit-commands.js';
import type { CommandContext } from './command-context.js';
import { sourcesWithoutData } from '../../processing/sources-without-data.js';
import { authorizeCli, authorizeCliStatus, cliPrincipal } from '../../compliance/access/cli-principal.js';

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
        const files = [...(await readdir(example, { recursive: true })), TSCONFIG_FILE];
        const taken = [];
        for (const file of files) if ((await stat(join(example, file)).catch(() => undefined))?.isDirectory() !== true && existsSync(join(target, file))) taken.push(file);
        if (taken.length > 0) throw new ConflictError('CONFLICT', `${target} already holds ${taken.sort().join(', ')}; "sluice init" writes those files: choose another directory`);
        await mkdir(target, { recursive: true });
        await cp(example, target, { recursive: true });
        await writeProjectTsconfig(target);
        out.result({ project: target, files }, () =>
          [`created ${target}`, ...files.map((f) => `  ${f}`), '', `next: cd ${dir} && sluice plan && sluice apply`,
            // The example's sample data, named after its sources (data/labels.csv is a spine for "sluice dataset build").
            'then load the sample data and the online store: sluice ingest transactions data/transactions.csv && sluice ingest customers data/customers.csv && sluice materialize'].join('\n'),
        );
      }),
    );

  program
    .command('plan')
    .description('show what apply would add, change and remove in the registry, and which views to rematerialize')
    .action(() =>
      run.withPlatform(async ({ platform, out, projectDir }) => {
        await typecheckProject(projectDir);
        const project = await loadProject(projectDir);
        await checkTransforms(platform, project);
        await checkRowTransforms(platform, project);
        const current = await platform.metadata.latestRegistry();
        // The diff shows the applied registry: the right that reads it (as list, GET /v1/registry); nothing applied yet shows nothing stored.
        if (current !== undefined) await authorizeCliStatus(platform);
        const changes = planChanges(current?.project, project);
        const principal = await cliPrincipal(platform);
        const transfers = await enforceResidency(platform.metadata.audit, platform.now(), project, { actor: principal.name, origin: principal.origin, during: 'plan', recordTransfers: false });
        const transferLines = transfers.map((t) => `  transfer allowed by ${t.transfer!.name}: ${t.path}`);
        out.result({ registryVersion: current?.version ?? null, changes, rematerialize: rematerialize(changes), transfers: transfers.map((t) => ({ path: t.path, transfer: t.transfer!.name })) }, () =>
          [changes.length === 0 ? 'No changes. The registry matches sluice.config.ts.' : [...changes.flatMap(describeChange), '', summary(changes)].join('\n'), ...transferLines].join('\n'),
        );
      }),
    );

  program
    .command('apply')
    .description('record sluice.config.ts as a new registry version')
    .action(() =>
      run.withPlatform(audited({ action: 'apply', target: 'registry' }, async ({ platform, out, projectDir }) => {
        const principal = await cliPrincipal(platform);
        const who = { actor: principal.name, origin: principal.origin };
        await authorizeCli(platform, principal, 'admin', 'apply');
        // apply refuses what plan refuses: an unknown option or a misspelt name is a type error, never dropped silently.
        await typecheckProject(projectDir);
        const project = await loadProject(projectDir);
        await checkTransforms(platform, project);
        await checkRowTransforms(platform, project);
        const current = await platform.metadata.latestRegistry();
        const changes = planChanges(current?.project, project);
        const transfers = await enforceResidency(platform.metadata.audit, platform.now(), project, { ...who, during: 'apply', recordTransfers: false });
        assertApplicable(changes);
        if (changes.length === 0 && current) {
          out.result({ registryVersion: current.version, changes, rematerialize: [] }, () => `No changes. Registry stays at version ${current.version}.`);
          return { project: project.name, registryVersion: current.version, changes: 0 };
        }
        const applied = await platform.metadata.recordRegistry(project);
        await auditTransfers(platform.metadata.audit, platform.now(), transfers, { ...who, during: 'apply' });
        const views = rematerialize(changes);
        const empty = await sourcesWithoutData(platform.metadata, project.sources.map((s) => s.name));
        out.result({ registryVersion: applied.version, changes, rematerialize: views, sourcesWithoutData: empty, transfers: transfers.map((t) => ({ path: t.path, transfer: t.transfer!.name })) }, () =>
          [
            ...changes.flatMap(describeChange), '', `Applied: registry version ${applied.version}.`,
            ...transfers.map((t) => `Transfer recorded in the audit trail (${t.transfer!.name}): ${t.path}`),
            ...(views.length > 0 ? [`Run "sluice materialize --views ${views.join(',')}": until then new views and new or changed features are null (NOT_MATERIALIZED), and a changed view's previous table keeps serving the features it has.`] : []),
            ...(empty.length > 0 ? [`No data yet in ${empty.length === 1 ? 'source' : 'sources'} ${empty.join(', ')}: "sluice ingest <source> <file>" loads a file into one, then "sluice materialize" fills the online store.`] : []),
          ].join('\n'),
        );
        return { project: project.name, registryVersion: applied.version, projectHash: project.hash, changes: changes.map((c) => `${c.action} ${c.kind} ${c.name}`) };
      })),
    );
}

/** The views whose values change (or are new): they need `sluice materialize`. */
function rematerialize(changes: readonly DefinitionChange[]): string[] {
  return changes.filter((c) => c.rematerialize === true).map((c) => c.name);
}

/** One line per detail: `~ featureView txn_stats: feature amount_sum_24h window 24h -> 48h (rematerialize)`. */
function describeChange(change: DefinitionChange): string[] {
  const head = `  ${SYMBOL[change.action]} ${change.kind} ${change.name}`;
  const mark = !change.rematerialize ? '' : change.action === 'add' ? ' (materialize)' : ' (rematerialize)';
  const lines = change.details?.length ? change.details.map((d) => `${head}: ${d}${mark}`) : [`${head}${mark}`];
  for (const c of change.consequences ?? []) lines.push(`      -> ${c}`);
  for (const r of change.refused ?? []) lines.push(`      refused: ${r}`);
  return lines;
}

function summary(changes: readonly DefinitionChange[]): string {
  const changed = rematerialize(changes.filter((c) => c.action === 'change'));
  const added = rematerialize(changes.filter((c) => c.action === 'add'));
  const refused = changes.filter((c) => c.refused !== undefined).length;
  return [
    `Plan: ${count(changes, 'add')} to add, ${count(changes, 'change')} to change, ${count(changes, 'remove')} to remove.`,
    ...(changed.length > 0 ? [`To rematerialize after apply: ${changed.join(', ')}.`] : []),
    ...(added.length > 0 ? [`To materialize after apply (new): ${added.join(', ')}.`] : []),
    ...(refused > 0 ? [`apply will refuse ${refused} change(s) above; see "refused".`] : []),
  ].join('\n');
}

function count(changes: readonly { action: string }[], action: string): number {
  return changes.filter((c) => c.action === action).length;
}
