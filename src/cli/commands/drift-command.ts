import type { Command } from 'commander';
import { authorizeCliStatus, authorizeCliValues, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { featuresOfColumns, type ShownValues } from '../../compliance/access/shown-values.js';
import { resolveTime, timeOrAgo, type TimeOption } from '../options.js';
import { datasetDrift } from '../../observability/drift/dataset-drift.js';
import { batchSkips } from '../../observability/drift/source-batch-drift.js';
import { incompleteText } from '../../observability/serving-log/index.js';
import { servingLogDir } from '../../observability/serving-log/served-row.js';
import { trackRun } from '../../orchestration/track-run.js';
import type { Project } from '../../definitions/index.js';
import type { DriftResult } from '../../storage/metadata/drift-store.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

interface DriftOptions {
  dataset?: string;
  service?: string;
  since?: TimeOption;
  until?: TimeOption;
  subject?: string;
}

const rows = (results: readonly DriftResult[]) =>
  results.map((r) => [r.subject, r.feature, r.metric, r.score.toFixed(4), r.severity, `${r.warn}/${r.error}`, r.referenceCount, r.currentCount, new Date(r.computedAt).toISOString()]);
const HEADER = ['subject', 'feature', 'metric', 'score', 'severity', 'warn/error', 'ref n', 'cur n', 'computed'];

/** The values a drift result's bins show: a dataset's features, or a source's column values. */
function binnedValues(project: Project, results: readonly DriftResult[]): ShownValues {
  const sources = results.filter((r) => r.subject.startsWith('source:')).map((r) => r.subject.slice('source:'.length));
  const features = results.filter((r) => !r.subject.startsWith('source:')).map((r) => r.feature);
  return { features: featuresOfColumns(project, features), sources: [...new Set(sources)].sort() };
}

/** `drift`: served values against a training dataset (`--dataset`), or the latest drift results of every feature and source column. */
export function registerDriftCommand(program: Command, run: CommandContext): void {
  program
    .command('drift')
    .option('--dataset <id>', 'compare the served values in the serving log with this training dataset (its id, as "sluice dataset build" printed it)')
    .option('--service <name>', 'with --dataset: served rows of this feature service only (_features: feature-list requests)')
    .option('--since <time>', 'with --dataset: rows served at or after this time (ISO-8601, or a duration before now: 24h)', timeOrAgo)
    .option('--until <time>', 'with --dataset: rows served before this time', timeOrAgo)
    .option('--subject <subject>', 'without --dataset: only results of this subject (dataset:<id> or source:<name>)')
    .description('drift: PSI / Jensen-Shannon of served values against a training dataset, and of source batches against the previous batch')
    .action((options: DriftOptions) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        if (options.dataset === undefined) {
          const scored = await platform.metadata.drift.latest(options.subject === undefined ? {} : { subject: options.subject });
          // A column the newest batch skipped shows the skip, not an older batch's score as if it were the latest.
          const sources = new Set([...scored.filter((r) => r.subject.startsWith('source:')).map((r) => r.subject.slice('source:'.length)), ...(await platform.project().then((p) => p.sources.map((x) => x.name), () => []))]);
          const skipped = (await batchSkips(platform.metadata.drift, [...sources])).filter((s) => options.subject === undefined || s.subject === options.subject);
          const stale = new Set(skipped.map((s) => `${s.subject}\u0000${s.feature}`));
          const latest = scored.filter((r) => !stale.has(`${r.subject}\u0000${r.feature}`));
          if (latest.length > 0) {
            const project = await platform.project();
            await authorizeCliValues(platform, await cliPrincipal(platform), project, 'drift', binnedValues(project, latest));
          }
          out.result({ results: latest, skipped }, () => (latest.length === 0 && skipped.length === 0
            ? 'no drift results yet: ingest batches of a source, or run "sluice drift --dataset ID"'
            : [...(latest.length === 0 ? [] : [table(HEADER, rows(latest))]), ...skipped.map((s) => `skipped ${s.subject} ${s.feature} (batch ${s.snapshot}): ${s.reason}`)].join('\n')));
          return;
        }
        const now = platform.now();
        const project = await platform.project();
        // The files it reads, for its lineage events: the dataset's file and the serving log.
        const dataset = (await platform.metadata.listDatasets(100_000)).find((d) => d.id === options.dataset);
        const datasetPath = dataset?.path;
        // Its bins are the dataset's and the served values of its features (an unknown id is named as such by the run).
        if (dataset) await authorizeCliValues(platform, await cliPrincipal(platform), project, 'drift', { features: featuresOfColumns(project, dataset.features) });
        const params = { dataset: options.dataset, ...(datasetPath === undefined ? {} : { datasetPath }), servingLog: servingLogDir(platform.dataDir, options.service), ...(options.service ? { service: options.service } : {}), ...(options.since ? { since: resolveTime(options.since, now) } : {}), ...(options.until ? { until: resolveTime(options.until, now) } : {}) };
        const report = await trackRun(platform, 'drift', params, async () => {
          const result = await datasetDrift(platform, project, {
            datasetId: options.dataset!,
            ...(options.service === undefined ? {} : { service: options.service }),
            ...(options.since === undefined ? {} : { since: resolveTime(options.since, now) }),
            ...(options.until === undefined ? {} : { until: resolveTime(options.until, now) }),
          });
          return { result, stats: { servedRows: result.servedRows, scored: result.results.length, drifted: result.results.filter((r) => r.severity !== 'ok').length, skipped: result.skipped.length, droppedRows: result.droppedRows } };
        }, project);
        out.result(report, () => [
          `dataset ${report.datasetId} against ${report.servedRows} served row(s)${options.service ? ` of ${options.service}` : ''}:`,
          report.results.length === 0 ? '  no feature could be scored' : table(HEADER, rows(report.results)),
          ...report.skipped.map((s) => `skipped ${s.feature}: ${s.reason}`),
          ...[incompleteText(report.drops, 'the served profile leaves them out')].filter((line) => line !== undefined),
        ].join('\n'));
      }),
    );
}
