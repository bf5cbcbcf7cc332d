import type { Command } from 'commander';
import { ingestFile } from '../../ingest/ingest-file.js';
import { materialize } from '../../processing/materialize.js';
import { buildDataset } from '../../serving/datasets/build-dataset.js';
import { getOnlineFeatures } from '../../serving/online-features.js';
import { toIso } from '../../time/index.js';
import { UsageError } from '../exit.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

function featureSelection(options: { service?: string; features?: string[] }): { service?: string; features?: string[] } {
  if ((options.service === undefined) === (options.features === undefined)) throw new UsageError('give exactly one of --service NAME or --features view:feature,...');
  return options.service !== undefined ? { service: options.service } : { features: options.features! };
}

/** `ingest`, `materialize`, `dataset build`, `get`, `dlq`: moving data through the platform. */
export function registerDataCommands(program: Command, run: CommandContext): void {
  program
    .command('ingest')
    .argument('<source>', 'the batch source to ingest into')
    .requiredOption('--file <path>', 'a .csv, .jsonl or .parquet file')
    .option('--force', 'ingest even if this exact file was ingested before')
    .description('validate a file against the source schema and commit it to the lake as one snapshot')
    .action((source: string, options: { file: string; force?: boolean }) =>
      run.withPlatform(async ({ platform, out }) => {
        const result = await ingestFile(platform, await platform.project(), source, options.file, {
          force: options.force === true,
          onProgress: (done, total) => out.progress(`ingest ${source}`, done, total),
        });
        out.result(result, () =>
          result.skipped
            ? `${options.file} was already ingested into "${source}" (snapshot ${result.snapshot}); nothing to do. Use --force to ingest it again.`
            : `ingested ${options.file} into "${source}": ${result.accepted} accepted, ${result.rejected} rejected${result.duplicates ? `, ${result.duplicates} duplicates (already ingested) skipped` : ''}, snapshot ${result.snapshot}` +
              (result.rejected > 0 ? `\nrejected rows are in the dead-letter store: sluice dlq --source ${source}` : ''),
        );
      }),
    );

  program
    .command('materialize')
    .option('--views <names>', 'comma-separated views (default: all)', list)
    .description('load the online store so it answers every feature as of now')
    .action((options: { views?: string[] }) =>
      run.withPlatform(async ({ platform, out }) => {
        const project = await platform.project();
        const total = options.views?.length ?? project.featureViews.length;
        out.progress('materialize', 0, total);
        const result = await materialize(platform, project, { ...(options.views ? { views: options.views } : {}), onView: (_v, done) => out.progress('materialize', done, total) });
        out.result({ asOf: toIso(result.asOf), views: result.views }, () =>
          [`materialized as of ${toIso(result.asOf)}`, table(['view', 'entities', 'events', 'retained', 'ms'], result.views.map((v) => [v.view, v.entities, v.events, v.retainedEvents, Math.round(v.ms)]))].join('\n'),
        );
      }),
    );

  const dataset = program.command('dataset').description('training datasets');
  dataset
    .command('build')
    .requiredOption('--spine <file>', 'CSV, JSONL or Parquet with the entity join key and a timestamp column')
    .option('--service <name>', 'a feature service')
    .option('--features <list>', 'comma-separated view:feature', list)
    .option('--timestamp-column <name>', 'the spine timestamp column', 'ts')
    .requiredOption('--out <path>', 'output .parquet, .csv or .jsonl')
    .description('build a point-in-time-correct training dataset')
    .action((options: { spine: string; service?: string; features?: string[]; timestampColumn: string; out: string }) =>
      run.withPlatform(async ({ platform, out }) => {
        const selection = featureSelection(options);
        const manifest = await buildDataset(platform, await platform.project(), {
          ...selection, spine: options.spine, out: options.out, timestampColumn: options.timestampColumn,
          onProgress: (done, total) => out.progress('dataset build', done, total),
        });
        out.result(manifest, () =>
          `dataset ${manifest.datasetId}: ${manifest.rowCount} rows x ${manifest.features.length} features -> ${manifest.path} (${manifest.timing.totalMs} ms)\nmanifest: ${manifest.path}.manifest.json`,
        );
      }),
    );

  program
    .command('get')
    .requiredOption('--entity <key=values>', 'join key and comma-separated values, e.g. customer_id=c1,c2')
    .option('--service <name>', 'a feature service')
    .option('--features <list>', 'comma-separated view:feature', list)
    .description('read online features for entities, as the server would serve them')
    .action((options: { entity: string; service?: string; features?: string[] }) =>
      run.withPlatform(async ({ platform, out }) => {
        const selection = featureSelection(options);
        const [key, values] = options.entity.split('=');
        if (!key || values === undefined) throw new UsageError('--entity takes key=value1,value2');
        const response = await getOnlineFeatures(await platform.project(), await platform.online(), { ...selection, entities: { [key]: list(values) } }, platform.now());
        out.result(response, () =>
          [`as of ${response.asOf}`, table([key, ...response.features], response.rows.map((r) => [r[key], ...response.features.map((f) => r[f])]))].join('\n'),
        );
      }),
    );

  program
    .command('dlq')
    .option('--source <name>', 'only this source')
    .option('--limit <n>', 'at most this many rows', (v) => Number.parseInt(v, 10), 100)
    .description('list rejected records with their reasons')
    .action((options: { source?: string; limit: number }) =>
      run.withPlatform(async ({ platform, out }) => {
        const filter = options.source === undefined ? { limit: options.limit } : { source: options.source, limit: options.limit };
        const rows = await platform.metadata.listDeadLetters(filter);
        const total = await platform.metadata.countDeadLetters(options.source);
        out.result({ total, rows: rows.map((r) => ({ ...r, createdAt: toIso(r.createdAt) })) }, () =>
          rows.length === 0 ? 'No rejected records.' : `${table(['source', 'file', 'line', 'reason', 'raw'], rows.map((r) => [r.source, r.file, r.line, r.reason, r.raw]))}\n${total} rejected in all`,
        );
      }),
    );
}
