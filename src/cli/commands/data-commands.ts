import { resolve } from 'node:path';
import { appliedNote } from '../../streaming/apply-snapshot.js';
import { sourcesWithoutData } from '../../processing/sources-without-data.js';
import { findSource, findView, jobName, type Project } from '../../definitions/index.js';
import type { Command } from 'commander';
import { ingestFile } from '../../ingest/ingest-file.js';
import { ingestPostgresTable } from '../../ingest/connectors/postgres-table/index.js';
import { materialize } from '../../processing/materialize.js';
import { buildDataset } from '../../serving/datasets/build-dataset.js';
import { manifestDatasetPath, rebuildDataset } from '../../serving/datasets/rebuild-dataset.js';
import { datasetNotes } from './dataset-notes.js';
import { latestSnapshots } from '../../serving/latest-snapshots.js';
import { getOnlineFeatures } from '../../serving/online-features.js';
import { requestTextValue } from '../../processing/request-features.js';
import { maskServedAnswer } from '../../compliance/masking/mask-served.js';
import { maskDeadLetters } from '../../compliance/masking/mask-dead-letters.js';
import { servedViewNote } from '../../serving/served-table.js';
import { toIso } from '../../time/index.js';
import { UsageError } from '../exit.js';
import { commaList as list, integerIn, keyValue } from '../options.js';
import { EPOCH_UNITS, type EpochUnit } from '../../time/index.js';
import { table } from '../output.js';
import { audited } from './audit-commands.js';
import { datasetInterruptReport, ingestInterruptReport, materializeInterruptReport } from './interrupt-reports.js';
import { exitOnInterrupt } from '../interrupt.js';
import type { CommandContext } from './command-context.js';
import { authorizeCli, authorizeCliJobs, authorizeCliRead, authorizeCliStatus, authorizeCliValues, cliPrincipal } from '../../compliance/access/cli-principal.js';

function featureSelection(options: { service?: string; features?: string[] }): { service?: string; features?: string[] } {
  if ((options.service === undefined) === (options.features === undefined)) throw new UsageError('give exactly one of --service NAME or --features view:feature,...');
  return options.service !== undefined ? { service: options.service } : { features: options.features! };
}

/**
 * What the text table of `get` cannot show (its cells are values only): the entities that no
 * requested view has (every status NOT_FOUND: a count shows 0, the rest -), and the values that
 * are null for being older than their view's ttl (OUTSIDE_TTL). Views' STALE and
 * NOT_MATERIALIZED states have their own notes (`servedViewNote`); `--json` has every status.
 */
function valueNotes(answer: { rows: readonly Record<string, unknown>[]; metadata: readonly { status: readonly string[] }[]; features: readonly string[] }, keys: readonly string[]): string[] {
  const entity = (r: number) => keys.map((k) => String(answer.rows[r]![k])).join(', ');
  const notFound: string[] = [];
  const outsideTtl: string[] = [];
  answer.metadata.forEach(({ status }, r) => {
    if (status.length > 0 && status.every((s) => s === 'NOT_FOUND')) notFound.push(entity(r));
    else status.forEach((s, f) => s === 'OUTSIDE_TTL' && outsideTtl.push(`${answer.features[f]} of ${entity(r)}`));
  });
  return [
    ...(notFound.length === 0 ? [] : [`not found in the online store (no requested view has them; counts show 0, other values -): ${notFound.join('; ')}`]),
    ...(outsideTtl.length === 0 ? [] : [`null for being older than their view's ttl (OUTSIDE_TTL): ${outsideTtl.join('; ')}`]),
  ];
}

/** `--entity user_id=u1,u2 --entity merchant_id=m1,m2`: the values of each join key column, in order. */
function entityOptions(texts: readonly string[]): Record<string, string[]> {
  const entities: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const text of texts) {
    const [key, values] = keyValue(text) ?? [];
    if (key === undefined || values === undefined) throw new UsageError('--entity takes key=value1,value2, e.g. customer_id=c1,c2');
    if (key in entities) throw new UsageError(`--entity ${key} is given twice; give each join key once, with all its values: ${key}=value1,value2`);
    const keys = values.split(',').map((v) => v.trim());
    if (values.trim() === '') throw new UsageError(`--entity ${key}= has no values; write ${key}=value1,value2`);
    // Dropped, an empty value would pair the other key columns' values with the wrong ones.
    const empty = keys.indexOf('');
    if (empty >= 0) throw new UsageError(`--entity ${text}: value ${empty + 1} is empty; give every key value (an entity is the i-th value of each --entity)`);
    entities[key] = keys;
  }
  return entities;
}

/**
 * `--request amount=12.5,80`: each request field's values as JSON would carry them, typed by the
 * field's type in the project's request views (`requestTextValue`, which also reads a CSV spine's
 * cells: a float64's number text as a number, a bool's `true`/`false`; any other text stays
 * text), so the server's one check (`requestValue`) refuses it as it refuses it over HTTP (`""`
 * is not a float64, never a 0; nor `0x10` a 16, nor `yes` a bool).
 */
function requestOptions(texts: readonly string[], project: Project): Record<string, unknown[]> {
  const request: Record<string, unknown[]> = Object.create(null) as Record<string, unknown[]>;
  for (const text of texts) {
    const [field, values] = keyValue(text) ?? [];
    if (field === undefined || values === undefined) throw new UsageError('--request takes field=value1,value2, e.g. amount=12.5,80');
    const type = project.requestViews.map((v) => v.request[field]).find((t) => t !== undefined);
    request[field] = values.split(',').map((v) => (type === undefined ? v : requestTextValue(v, type)));
  }
  return request;
}

/** `ingest`, `materialize`, `dataset build`, `get`, `dlq`: moving data through the platform. */
export function registerDataCommands(program: Command, run: CommandContext): void {
  program
    .command('ingest')
    .argument('<source>', 'the batch source to ingest into')
    .argument('[file]', 'the file to ingest (the same as --file)')
    .option('--file <path>', 'a .csv, .jsonl or .parquet file (without it: the rows of the source\'s postgresTable after its last committed cursor)')
    .option('--force', 'ingest even if this exact file was ingested before')
    .option('--known-at <when>', 'when Sluice knew these events, for as-known datasets: event (their event time, the default) or ingestion (now)', (v: string) => {
      if (v !== 'event' && v !== 'ingestion') throw new UsageError(`--known-at ${v}: use event or ingestion`);
      return v;
    })
    .option('--no-online', 'do not apply the new rows to the online tables (they then say STALE until materialized)')
    .description('validate a file (or the new rows of a Postgres table) against the source schema, commit them to the lake as one snapshot, and apply them to the online tables of its views')
    .action((source: string, file: string | undefined, given: { file?: string; force?: boolean; online: boolean; knownAt?: 'event' | 'ingestion' }) => {
      if (file !== undefined && given.file !== undefined && resolve(file) !== resolve(given.file)) throw new UsageError(`two files: ${file} and --file ${given.file}; give the file once`);
      const options = { ...given, file: file ?? given.file };
      return run.withPlatform(audited({ action: 'ingest', target: `source:${source}` }, async ({ platform, out }) => {
        const project = await platform.project();
        // A name the registry lacks is named as such (with the closest name), before a right on it is asked.
        findSource(project, source);
        await authorizeCliJobs(platform, await cliPrincipal(platform), project, [jobName('ingest', source)]);
        const connector = project.sources.find((s) => s.name === source)?.connector;
        const common = { ...(options.knownAt ? { knownAt: options.knownAt } : {}), online: options.online, onProgress: (done: number, total: number) => out.progress(`ingest ${source}`, done, total) };
        const interrupted = exitOnInterrupt(`ingest of "${source}"`, await ingestInterruptReport(platform, source));
        // The rows reach the online tables within the run, so its lineage event names the tables it wrote.
        const result = await (options.file === undefined
          ? ingestPostgresTable(platform, project, source, common)
          : ingestFile(platform, project, source, options.file, { force: options.force === true, ...common })).finally(interrupted);
        const online = result.online;
        const onlineNote = online === undefined ? '' : appliedNote(online);
        const input = options.file ?? `the new rows of ${connector?.kind === 'postgresTable' ? (connector.table ?? 'its query') : 'its table'}`;
        out.result(result, () =>
          result.skipped
            ? (options.file === undefined ? `no new rows for "${source}" since the last committed cursor; nothing to do.` : `${options.file} was already ingested into "${source}" (snapshot ${result.snapshot}); nothing to do. Use --force to ingest it again.`)
            : `ingested ${input} into "${source}": ${result.accepted} accepted, ${result.rejected} rejected${result.duplicates ? `, ${result.duplicates} duplicates (already ingested) skipped` : ''}, snapshot ${result.snapshot}` +
              (result.rejected > 0 ? `\nrejected rows are in the dead-letter store: sluice dlq --source ${source}` : '') + onlineNote +
              (result.checks ?? []).filter((c) => !c.passed).map((c) => `\nwarning: check "${c.check}" fails: ${c.message}`).join(''),
        );
        return { file: options.file ?? null, skipped: result.skipped, accepted: result.accepted, rejected: result.rejected, duplicates: result.duplicates ?? 0, snapshot: result.snapshot, online: online?.applied ?? [] };
      }));
    });

  program
    .command('materialize')
    .option('--views <names>', 'comma-separated views (default: all)', list)
    .description('load the online store so it answers every feature as of now')
    .action((options: { views?: string[] }) =>
      run.withPlatform(audited({ action: 'materialize', target: options.views ? `views:${options.views.join(',')}` : 'views:all' }, async ({ platform, out }) => {
        const project = await platform.project();
        for (const view of options.views ?? []) findView(project, view);
        await authorizeCliJobs(platform, await cliPrincipal(platform), project, (options.views ?? project.featureViews.map((v) => v.name)).map((v) => jobName('materialize', v)));
        const total = options.views?.length ?? project.featureViews.length;
        out.progress('materialize', 0, total);
        const interrupted = exitOnInterrupt('materialize', await materializeInterruptReport(platform, options.views ?? project.featureViews.map((v) => v.name)));
        const result = await materialize(platform, project, { ...(options.views ? { views: options.views } : {}), onView: (_v, done) => out.progress('materialize', done, total) })
          .finally(interrupted);
        // A view of no events because its source has none is said so, not left a silent 0.
        const views = result.views.filter((v) => v.events === 0).map((v) => ({ view: v.view, source: findView(project, v.view).source }));
        const empty = new Set(await sourcesWithoutData(platform.metadata, [...new Set(views.map((v) => v.source))]));
        const unfed = views.filter((v) => empty.has(v.source));
        out.result({ asOf: toIso(result.asOf), views: result.views, sourcesWithoutData: [...empty] }, () =>
          [`materialized as of ${toIso(result.asOf)}`, table(['view', 'entities', 'events', 'retained', 'ms'], result.views.map((v) => [v.view, v.entities, v.events, v.retainedEvents, Math.round(v.ms)])),
            ...unfed.map((v) => `view "${v.view}" read no events: source "${v.source}" has no data yet ("sluice ingest ${v.source} <file>")`)].join('\n'),
        );
        return { asOf: toIso(result.asOf), views: result.views.map((v) => ({ view: v.view, entities: v.entities, events: v.events })) };
      })),
    );

  const dataset = program.command('dataset').description('training datasets');
  dataset
    .command('build')
    .option('--spine <file>', 'CSV, JSONL or Parquet with the entity join key and a timestamp column')
    .option('--service <name>', 'a feature service')
    .option('--features <list>', 'comma-separated view:feature', list)
    .option('--timestamp-column <name>', 'the spine timestamp column', 'ts')
    .option('--out <path>', 'output .parquet, .csv or .jsonl (with --manifest: default the original path)')
    .option('--manifest <file>', 'rebuild exactly the dataset of this manifest (same snapshots, same id)')
    .option('--timestamp-unit <unit>', `the unit of integer spine timestamps: ${EPOCH_UNITS.join(', ')} (default ms; integers that look like epoch seconds are refused without it)`, (v: string) => {
      if (!(EPOCH_UNITS as readonly string[]).includes(v)) throw new UsageError(`--timestamp-unit ${v}: use one of ${EPOCH_UNITS.join(', ')}`);
      return v as EpochUnit;
    })
    .option('--replace-columns', 'replace spine columns named like an output feature column, instead of refusing the build')
    .option('--as-known', 'compute each row from the events Sluice knew before its time (what serving could have answered then), not every event before it')
    .option('--model <name>', 'the model this dataset trains (e.g. fraud-v3): recorded on the dataset, a model:<name> node in lineage')
    .option('--region <region>', "the output's region (default the project's); data may leave its sources' regions only under a transfer policy")
    .option('--as <role>', 'mask classified columns also as this role would see them (repeat for several); each column gets the stricter of your mask and theirs', (role: string, previous: string[] = []) => [...previous, role])
    .description('build a point-in-time-correct training dataset')
    .action((options: { spine?: string; service?: string; features?: string[]; timestampColumn: string; timestampUnit?: EpochUnit; replaceColumns?: boolean; asKnown?: boolean; model?: string; out?: string; manifest?: string; region?: string; as?: string[] }) =>
      run.withPlatform(audited({ action: 'dataset.build', target: options.service !== undefined ? `service:${options.service}` : options.manifest !== undefined ? `manifest:${options.manifest}` : 'features' }, async ({ platform, out }) => {
        const onProgress = (done: number, total: number) => out.progress('dataset build', done, total);
        const usesManifest = options.manifest !== undefined;
        if (usesManifest && (options.spine !== undefined || options.service !== undefined || options.features !== undefined || options.asKnown !== undefined || options.model !== undefined)) throw new UsageError('--manifest takes the spine, features, time mode and model from the manifest; give only --out');
        if (!usesManifest && (options.spine === undefined || options.out === undefined)) throw new UsageError('give --spine FILE and --out PATH (or --manifest FILE)');
        const project = await platform.project();
        const principal = await cliPrincipal(platform);
        await authorizeCli(platform, principal, 'datasets', 'datasets');
        const forWhom = { principal, ...(options.as ? { asRoles: options.as } : {}) };
        const interrupted = exitOnInterrupt('dataset build', datasetInterruptReport(platform, resolve(options.out ?? manifestDatasetPath(options.manifest!))));
        const built = await (usesManifest
          ? rebuildDataset(platform, project, options.manifest!, { ...(options.out === undefined ? {} : { out: options.out }), onProgress, ...forWhom })
          : buildDataset(platform, project, { ...forWhom,
              ...featureSelection(options), spine: options.spine!, out: options.out!, timestampColumn: options.timestampColumn, onProgress,
              ...(options.timestampUnit ? { timestampUnit: options.timestampUnit } : {}), replaceColumns: options.replaceColumns === true,
              asKnown: options.asKnown === true, ...(options.model === undefined ? {} : { model: options.model }),
              residency: { ...(options.region === undefined ? {} : { region: options.region }), actor: principal.name, origin: principal.origin },
            })).finally(interrupted);
        out.result(built, () =>
          `dataset ${built.datasetId}${built.asKnown ? ' (as known)' : ''}${built.model === undefined ? '' : ` for model ${built.model}`}: ${built.rowCount} rows x ${built.features.length} features -> ${built.path} (${built.timing.totalMs} ms)\nmanifest: ${built.path}.manifest.json` +
          (built.masked ? `\nmasked: ${Object.entries(built.masked).map(([c, m]) => `${c} (${m})`).join(', ')}` : '') +
          datasetNotes(built).map((note) => `\n${note}`).join(''),
        );
        return { datasetId: built.datasetId, path: built.path, rows: built.rowCount, features: built.features.length, asKnown: built.asKnown, ...(built.model === undefined ? {} : { model: built.model }) };
      })),
    );

  program
    .command('get')
    .requiredOption('--entity <key=values>', 'join key and comma-separated values, e.g. customer_id=c1,c2; repeat it for each column of a composite key', (text: string, previous: string[] = []) => [...previous, text])
    .option('--service <name>', 'a feature service')
    .option('--features <list>', 'comma-separated view:feature', list)
    .option('--request <field=values>', 'request values for request views, one per entity, e.g. amount=12.5,80; repeat it for each field', (text: string, previous: string[] = []) => [...previous, text])
    .description('read online features for entities, as the server would serve them')
    .action((options: { entity: string[]; service?: string; features?: string[]; request?: string[] }) =>
      run.withPlatform(async ({ platform, out }) => {
        const selection = featureSelection(options);
        const entities = entityOptions(options.entity);
        const project = await platform.project();
        const principal = await cliPrincipal(platform);
        await authorizeCliRead(platform, principal, project, selection, Object.values(entities)[0]?.length ?? 0);
        const latest = await latestSnapshots(platform.metadata, project);
        const request = { ...selection, entities, ...(options.request ? { request: requestOptions(options.request, project) } : {}) };
        const answer = await getOnlineFeatures(project, await platform.online(), request, platform.now(), latest, { functions: () => platform.requestFunctions(project) });
        const response = await maskServedAnswer(platform, (event, at) => platform.metadata.audit.append(event, at), project, principal, request, answer, 'get');
        const keys = Object.keys(response.rows[0] ?? entities).filter((k) => k in entities);
        const notes = [...Object.entries(response.views).flatMap(([view, served]) => servedViewNote(view, served) ?? []), ...valueNotes(response, keys)];
        out.result(response, () =>
          [`as of ${response.asOf}`, table([...keys, ...response.features], response.rows.map((r) => [...keys.map((k) => r[k]), ...response.features.map((f) => r[f])])), ...notes].join('\n'),
        );
      }),
    );

  program
    .command('dlq')
    .option('--source <name>', 'only this source')
    .option('--limit <n>', 'at most this many rows', integerIn(1, 1_000_000), 100)
    .description('list rejected records with their reasons')
    .action((options: { source?: string; limit: number }) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        const project = await platform.project();
        const principal = await cliPrincipal(platform);
        const filter = options.source === undefined ? { limit: options.limit } : { source: options.source, limit: options.limit };
        const listed = await platform.metadata.listDeadLetters(filter);
        // None for a name the registry does not know: a misspelt source is named (a removed source's records are still listed).
        if (listed.length === 0 && options.source !== undefined) findSource(project, options.source);
        // Rejected records are the source's rows: shown to who may write them (give --source for one source).
        await authorizeCliValues(platform, principal, project, 'dlq', { sources: [...new Set(listed.map((r) => r.source))].sort() });
        const rows = await maskDeadLetters(platform, project, principal, listed);
        const total = await platform.metadata.countDeadLetters(options.source);
        out.result({ total, rows: rows.map((r) => ({ ...r, createdAt: toIso(r.createdAt) })) }, () =>
          rows.length === 0 ? 'No rejected records.' : `${table(['source', 'file', 'line', 'reason', 'raw'], rows.map((r) => [r.source, r.file, r.line, r.reason, r.raw]))}\n${total} rejected in all`,
        );
      }),
    );
}
