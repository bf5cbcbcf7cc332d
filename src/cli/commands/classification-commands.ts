import type { Command } from 'commander';
import { authorizeCliStatus } from '../../compliance/access/cli-principal.js';
import { classificationCatalog } from '../../compliance/classification/catalog.js';
import { classifiedPlaces } from '../../compliance/classification/catalog-places.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

/** `catalog`: every place classified data lives, from the applied registry and the stores. */
export function registerClassificationCommands(program: Command, run: CommandContext): void {
  program
    .command('catalog')
    .description('list every place classified data lives: source and transform columns, features, online tables, services, datasets, serving logs, dead letters, quarantine')
    .option('--pii', 'only places holding personal data (a pii level), not tags-only or declassified ones')
    .action((options: { pii?: boolean }) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        const project = await platform.project();
        const quarantined: Record<string, number> = {};
        for (const batch of await platform.metadata.quality.listQuarantine({ status: 'held' })) quarantined[batch.dataset] = (quarantined[batch.dataset] ?? 0) + 1;
        const stored = { datasets: await platform.metadata.listDatasets(10_000), deadLetters: await platform.metadata.deadLetterCounts(), quarantined };
        const places = classifiedPlaces(project, classificationCatalog(project), stored, { piiOnly: options.pii === true });
        out.result({ places }, () =>
          places.length === 0
            ? `No ${options.pii ? 'personal data' : 'classified data'} in the registry. Classify columns with classify: { email: pii("direct") } on sources and transforms, then sluice apply.`
            : table(['place', 'id', 'level', 'tags', 'derived from', 'note'], places.map((p) => [p.place, p.id, p.level, p.tags.join(',') || null, p.derivedFrom.join(',') || null, p.note])),
        );
      }),
    );
}
