import type { Command } from 'commander';
import { authorizeCli, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { runRetention, type RetentionReport } from '../../compliance/retention/run-retention.js';
import { toIso } from '../../time/index.js';
import { UsageError } from '../exit.js';
import { stopOnInterrupt } from '../interrupt.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

/** The text of `sluice retention run`: what it removed (or would) from each store, and what is left to do. */
export function retentionText(report: RetentionReport): string {
  if (report.sources.length === 0 && report.views.length === 0) return 'No source or feature view declares a retention; nothing to do (add e.g. retention: "400d").';
  const verb = report.dryRun ? 'would remove' : 'removed';
  const rows = report.sources.flatMap((s) => [
    ...s.purge.stores.filter((p) => p.rows > 0 || p.filesRewritten.length > 0 || p.tainted).map((p) => [s.source, s.retention, toIso(s.cutoff), p.store, p.rows, p.bytes, p.tainted ? 'tainted (flagged)' : p.filesRewritten.length > 0 ? `${p.filesRewritten.length} file(s) rewritten` : '']),
    ...(s.expiredSnapshots.length > 0 ? [[s.source, s.retention, toIso(s.cutoff), 'snapshots', s.expiredSnapshots.length, s.bytesDeleted, `${s.filesDeleted.length} file(s) deleted`]] : []),
  ]);
  const views = report.views.flatMap((v) => [
    [v.view, v.retention, toIso(v.cutoff), `online:${v.view}`, v.entries, 0, 'entities with no event since the cutoff'],
    ...(v.servedRows > 0 ? [[v.view, v.retention, toIso(v.cutoff), 'serving-log', v.servedRows, '', 'rows served before the cutoff']] : []),
  ]);
  const all = [...rows, ...views];
  // The totals of the rows the table lists, by where they were removed from: a flagged dataset still holds its rows, and a snapshots row counts snapshots.
  const removed = (kind: (store: string) => boolean) => all.filter(([, , , store, , , note]) => kind(String(store)) && store !== 'snapshots' && note !== 'tainted (flagged)').reduce((n, r) => n + Number(r[4]), 0);
  const online = (store: string) => store.startsWith('online:');
  const served = (store: string) => store === 'serving-log';
  const head = `${report.dryRun ? 'Dry run: nothing was removed. ' : ''}Retention at ${toIso(report.at)} ${verb} ${removed((store) => !online(store) && !served(store))} lake/store rows, ${removed(online)} online entries and ${removed(served)} served rows (serving log).`;
  const leftovers = report.leftoverFiles > 0 ? `\nAn earlier run had crashed before deleting ${report.leftoverFiles} lake file(s) it had swapped out (holding removed rows); they were deleted now.` : '';
  const unreadable = report.servedUnreadable > 0 ? `\nThe serving log's unreadable lines and rows (torn, or of a format this build cannot read) in hours before the cutoffs: ${report.servedUnreadable} ${verb}.` : '';
  const warnings = report.scrubPending.map((p) => `\nwarning: ${p.store} store: ${p.reason}`).join('');
  const stopped = report.stopped === undefined ? '' : `\nStopped past its commit (${report.stopped.reason}): what it removed stays removed; left to the next "sluice retention run": ${report.stopped.left.join(', ')}.`;
  return (all.length === 0 ? `${head}\nNothing has expired.` : `${head}\n${table(['source/view', 'retention', 'cutoff', 'store', 'rows', 'bytes', 'note'], all)}`) + unreadable + leftovers + stopped + warnings;
}

/** `retention run [--dry-run] [--datasets flag|rewrite]`: applies the project's retention now. */
export function registerRetentionCommands(program: Command, run: CommandContext): void {
  const retention = program.command('retention').description('retention of events (retention: "400d" on sources and feature views): remove what has expired');
  retention
    .command('run')
    .option('--dry-run', 'count what would be removed, remove nothing')
    .option('--datasets <policy>', 'datasets built from data that has since expired: flag (list as tainted, default) or rewrite (remove their rows before the cutoff)', 'flag')
    .description('physically remove expired events from the lake (every snapshot), online store, dead letters and the serving log; flag built datasets (--datasets rewrite: remove their expired rows too); expire old snapshots; audited')
    .action((options: { dryRun?: boolean; datasets: string }) =>
      run.withPlatform(async ({ platform, out }) => {
        if (options.datasets !== 'flag' && options.datasets !== 'rewrite') throw new UsageError(`--datasets "${options.datasets}" is not a policy; use flag or rewrite`);
        const project = await platform.project();
        const principal = await cliPrincipal(platform);
        // The admin right `retention` (a deny for the local operator wins), audited allowed or denied.
        await authorizeCli(platform, principal, 'admin', 'retention');
        const stop = stopOnInterrupt();
        const report = await runRetention(platform, project, { principal, dryRun: options.dryRun === true, datasets: options.datasets, signal: stop.signal }).finally(() => stop.done());
        out.result({ ...report, at: toIso(report.at) }, () => retentionText(report));
      }),
    );
}
