import { exitOnInterrupt } from '../interrupt.js';
import type { Command } from 'commander';
import { jobName, transformOrder } from '../../definitions/index.js';
import { authorizeCliJobs, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { findTransform, runTransform, transformSource, type TransformRunResult } from '../../processing/transforms/run-transform.js';
import { applySnapshotOnline, type SnapshotApplied } from '../../streaming/apply-snapshot.js';
import { UsageError } from '../exit.js';
import { durationMs } from '../options.js';
import { table } from '../output.js';
import { audited } from './audit-commands.js';
import type { CommandContext } from './command-context.js';

type RunOutcome = TransformRunResult & { readonly online?: SnapshotApplied };

function describeRun(r: RunOutcome): string {
  const inputs = Object.entries(r.inputs).map(([name, id]) => `${name}=${id ?? 'empty'}`).join(', ');
  const head = r.skipped
    ? `transform "${r.transform}" is up to date (snapshot ${r.snapshot}, inputs ${inputs}); nothing to do`
    : `transform "${r.transform}": ${r.mode} run, ${r.rows} rows, snapshot ${r.snapshot} from ${inputs}${r.note ? ` (full: ${r.note})` : ''}`;
  const online = r.online === undefined ? [] : [
    ...(r.online.applied.length > 0 ? [`  applied to the online tables of ${r.online.applied.join(', ')}`] : []),
    ...r.online.skipped.filter((s) => s.reason !== 'not materialized').map((s) => `  view "${s.view}" was not updated (${s.reason}); run "sluice materialize --views ${s.view}"`),
  ];
  const behind = r.behind === undefined ? [] : [`  note: it read ${r.behind.map((b) => `"${b}"`).join(', ')}, not up to date with ${r.behind.length === 1 ? 'its' : 'their'} own inputs; "sluice transform run --all" runs inputs first`];
  return [head, ...behind, ...online].join('\n');
}

/** `transform run NAME...|--all`: derived tables in the lake. */
export function registerTransformCommands(program: Command, run: CommandContext): void {
  const transform = program.command('transform').description('SQL transforms: derived tables in the lake');
  transform
    .command('run')
    .argument('[names...]', 'the transforms to run')
    .option('--all', 'run every transform, inputs first')
    .option('--timeout <duration>', 'stop a run that takes longer than this (nothing is committed), e.g. 30m; default 1h', durationMs)
    .option('--no-online', 'do not apply appended rows to the online tables (they then say STALE until materialized)')
    .description('compute transforms from the current snapshots of their inputs and commit each as a new snapshot of its table')
    .action((names: string[], options: { all?: boolean; online: boolean; timeout?: number }) =>
      run.withPlatform(audited({ action: 'transform.run', target: options.all ? 'transforms:all' : `transforms:${names.join(',') || 'none'}` }, async ({ platform, out }) => {
        if ((options.all === true) === names.length > 0) throw new UsageError('give transform names or --all, not both and not neither');
        const project = await platform.project();
        for (const name of names) findTransform(project, name);
        const ordered = transformOrder(project, options.all ? undefined : names);
        await authorizeCliJobs(platform, await cliPrincipal(platform), project, ordered.map((t) => jobName('transform', t.name)));
        const results: RunOutcome[] = [];
        const interrupted = exitOnInterrupt('transform run', () => `${results.length} of ${ordered.length} transform(s) had committed${results.length > 0 ? ` (${results.map((r) => r.transform).join(', ')})` : ''}; run the same command again (a transform up to date is skipped)`);
        try {
          for (const [i, t] of ordered.entries()) {
            out.progress('transform run', i, ordered.length);
            const result = await runTransform(platform, project, t.name, options.timeout === undefined ? {} : { timeoutMs: options.timeout }).catch((error: unknown) => {
              // The runs done are committed: say so, and which transforms were not run, before the error.
              for (const done of results) out.info(describeRun(done));
              const rest = ordered.slice(i + 1).map((r) => r.name);
              if (rest.length > 0) out.info(`not run, after transform "${t.name}" failed: ${rest.join(', ')}`);
              throw error;
            });
            const snapshot = result.skipped || !options.online || result.snapshot === null ? undefined : await platform.metadata.snapshot(result.snapshot);
            results.push(snapshot ? { ...result, online: await applySnapshotOnline(platform, project, transformSource(project, t.name), snapshot) } : result);
          }
        } finally {
          interrupted();
        }
        out.progress('transform run', ordered.length, ordered.length);
        out.result({ runs: results }, () =>
          results.length === 0
            ? 'No transforms in the registry.'
            : [...results.map(describeRun), '', table(['transform', 'mode', 'rows', 'snapshot'], results.map((r) => [r.transform, r.skipped ? 'up to date' : r.mode, r.rows, r.snapshot]))].join('\n'),
        );
        return { runs: results.map((r) => ({ transform: r.transform, mode: r.skipped ? 'up to date' : r.mode, rows: r.rows, snapshot: r.snapshot })) };
      })),
    );
}
