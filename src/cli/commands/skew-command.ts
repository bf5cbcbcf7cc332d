import type { Command } from 'commander';
import { rate, resolveTime, timeOrAgo, type TimeOption } from '../options.js';
import { runSkewJob, type SkewReport } from '../../observability/skew/index.js';
import { incompleteText } from '../../observability/serving-log/index.js';
import type { FeatureSkew } from '../../storage/metadata/skew-store.js';
import { EXIT_UNHEALTHY } from '../exit.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';
import { authorizeCliStatus, authorizeCliValues, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { servedFeatures } from '../../compliance/access/shown-values.js';

const percent = (r: number) => `${Number((r * 100).toPrecision(3))}%`;
const skippedText = (f: FeatureSkew) => Object.entries(f.skipped).map(([reason, n]) => `${reason} ${n}`).join(', ') || '-';

/** The serving log's holes in the range, when it has some (see `serving-log-drops.ts`). */
const dropsText = (report: SkewReport): string | undefined => incompleteText(report.drops, 'they were not compared');

function human(report: SkewReport): string {
  if (report.servedRows === 0) return [dropsText(report), `no served rows in the range (${report.since === null ? 'start of the log' : new Date(report.since).toISOString()} to ${new Date(report.until).toISOString()}): turn the serving log on in the server, serve requests, then run "sluice skew" again (see docs/skew.md)`].filter(Boolean).join('\n');
  const rows = report.features.map((f) => [f.service, f.feature, f.compared, f.mismatches, percent(f.mismatchRate), `${percent(f.onlineNullRate)}/${percent(f.offlineNullRate)}`, f.maxAbsDiff, skippedText(f), f.snapshots.servedBehind]);
  const lines = [
    `${report.servedRows} served rows read${report.unreadableLines > 0 ? ` (${report.unreadableLines} unreadable lines skipped)` : ''}; each value recomputed offline at its asOf over the snapshots it reflected`,
    table(['service', 'feature', 'compared', 'mismatches', 'rate', 'null on/off', 'max |diff|', 'skipped (not compared)', 'served behind'], rows),
  ];
  for (const f of report.features) {
    for (const e of f.examples) lines.push(`  ${f.feature}: entity ${e.entityKey} at ${e.asOf}: online ${JSON.stringify(e.online)}, offline ${JSON.stringify(e.offline)}`);
  }
  for (const [reason, meaning] of Object.entries(report.skipReasons)) lines.push(`skipped ${reason}: ${meaning}`);
  const dropped = dropsText(report);
  if (dropped !== undefined) lines.push(dropped);
  lines.push(report.unhealthy.length > 0
    ? `skew above ${percent(report.maxMismatchRate)} in ${report.unhealthy.join(', ')}: its condition is firing (sluice status)`
    : `no feature above ${percent(report.maxMismatchRate)} mismatches`);
  return lines.join('\n');
}

/** `skew [--service S] [--since T] [--until T] [--max-mismatch-rate R]`: served values against their offline recomputation. */
export function registerSkewCommand(program: Command, run: CommandContext): void {
  program
    .command('skew')
    .option('--service <name>', 'only this feature service\'s served rows (default: every service)')
    .option('--since <time>', 'rows served from this time: ISO-8601, or a duration ago (24h)', timeOrAgo)
    .option('--until <time>', 'rows served before this time (default: now)', timeOrAgo)
    .option('--max-mismatch-rate <rate>', 'a feature is unhealthy above this share of mismatches (0 to 1)', rate, 0)
    .description('training/serving skew: recomputes sampled served values offline at their asOf and compares them, per feature (exit code 3 when a feature is above the threshold)')
    .action((options: { service?: string; since?: TimeOption; until?: TimeOption; maxMismatchRate: number }) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        const project = await platform.project();
        const principal = await cliPrincipal(platform);
        // Its examples are served and recomputed values: the status right shows figures, not values.
        await authorizeCliValues(platform, principal, project, 'skew', { features: servedFeatures(project, options.service) });
        const now = platform.now();
        const resolve = (t: TimeOption) => resolveTime(t, now);
        const report = await runSkewJob(platform, project, {
          ...(options.service === undefined ? {} : { service: options.service }),
          ...(options.since === undefined ? {} : { since: resolve(options.since) }),
          ...(options.until === undefined ? {} : { until: resolve(options.until) }),
          maxMismatchRate: options.maxMismatchRate,
          principal,
        });
        out.result(report, () => human(report));
        if (report.unhealthy.length > 0) process.exitCode = EXIT_UNHEALTHY;
      }),
    );
}
