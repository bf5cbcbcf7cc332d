import type { Command } from 'commander';
import { authorizeCli, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { eraseSubject, type ErasureCertificate } from '../../compliance/erasure/run-erasure.js';
import { reportErasureStatus, type ErasureStatusReport } from '../../compliance/erasure/erasure-status.js';
import { toIso } from '../../time/index.js';
import { EXIT_UNHEALTHY, UsageError } from '../exit.js';
import { stopOnInterrupt } from '../interrupt.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The certificate as `sluice erase` prints it, warnings last. */
export function certificateText(c: ErasureCertificate): string {
  const stores = c.stores.filter((s) => s.rows > 0 || s.filesRewritten > 0 || s.tainted);
  return [
    `erased subject ${c.subject.slice(0, 16)}... of entity "${c.entity}" (request ${c.request}): ${c.rows} rows, ${c.bytes} bytes removed in ${c.durationMs} ms`,
    stores.length === 0 ? 'no store held the subject' : table(['store', 'rows', 'bytes', 'files rewritten', 'snapshots rewritten', 'note'], stores.map((s) => [s.store, s.rows, s.bytes, s.filesRewritten, s.snapshotsRewritten, [s.tainted ? 'TAINTED (kept by policy)' : '', s.byValue ? `${s.byValue} by a feature's value` : ''].filter(Boolean).join('; ')])),
    // A certificate stored before 2026-12-01 has no such list.
    ...((c.keyValuedFeatures as readonly string[] | undefined ?? []).length === 0 ? [] : [`features whose value may be the key (their served and dataset rows holding it were removed too): ${c.keyValuedFeatures.join(', ')}`]),
    `received ${c.receivedAt}, completed ${c.completedAt}, deadline ${c.deadline}${c.withinDeadline ? '' : ' (LATE)'}; later ingestion of the key is rejected as "erased"`,
    ...(c.leftoverFiles > 0 ? [`an earlier run had crashed after swapping out ${c.leftoverFiles} lake file(s) still holding removed rows; they were deleted now`] : []),
    ...((c.unsureKeyColumns ?? []).length === 0 ? [] : [`warning: column(s) computed from the key by an expression may hold it in another form that was not searched (rows where one held the key as it is were removed): ${c.unsureKeyColumns!.join(', ')}; check them, or keep the key column as it is in those transforms`]),
    ...c.scrubPending.map((p) => `warning: ${p.store} store: ${p.reason}`),
    ...(c.metadataExpunged ? [] : ['warning: another process kept the metadata log from being reset; run "sluice erase --status" when it is idle to finish clearing freed bytes']),
  ].join('\n');
}

function statusText(report: ErasureStatusReport): string {
  if (report.requests.length === 0) return 'No erasure requests.';
  const rows = report.requests.map((r) => [
    r.id, r.entity, `${r.subject.slice(0, 12)}...`, r.status.toUpperCase(), toIso(r.receivedAt), toIso(r.deadlineAt), r.completedAt === null ? '-' : toIso(r.completedAt),
    r.overdue ? 'OVERDUE' : r.dueInMs === null ? 'on time' : `due in ${Math.max(0, Math.floor(r.dueInMs / 86_400_000))}d`,
  ]);
  return [
    table(['request', 'entity', 'subject', 'status', 'received', 'deadline', 'completed', 'deadline status'], rows),
    `${report.pending} pending, ${report.completed} completed${report.overdue > 0 ? `, ${report.overdue} OVERDUE (GDPR Art. 12(3): one month)` : ''}`,
  ].join('\n');
}

/** `erase --entity E --key K [--key K2] [--reason R] [--flag-datasets]` and `erase --status`: the right to erasure. */
export function registerErasureCommands(program: Command, run: CommandContext): void {
  program
    .command('erase')
    .option('--entity <name>', 'the entity of the subject to erase (e.g. customer)')
    .option('--key <value>', 'the subject\'s key; once per join key part, in order, for a composite key', collect)
    .option('--reason <text>', 'why (recorded with the request; no personal data)')
    .option('--flag-datasets', 'keep training datasets that hold the subject and list them as tainted, instead of rewriting them')
    .option('--status', 'list erasure requests against their one-month deadline (exit code 3 when one is overdue)')
    .description('right to erasure (GDPR Art. 17): blocks the subject on every way in, removes it from every store, prints the certificate')
    .action((options: { entity?: string; key?: string[]; reason?: string; flagDatasets?: boolean; status?: boolean }) =>
      run.withPlatform(async ({ platform, out }) => {
        if (options.status) {
          if (options.entity !== undefined || options.key !== undefined) throw new UsageError('--status lists requests; give it without --entity and --key');
          await authorizeCli(platform, await cliPrincipal(platform), 'admin', 'erase');
          const report = await reportErasureStatus(platform);
          out.result(report, () => statusText(report));
          if (report.overdue > 0) process.exitCode = EXIT_UNHEALTHY;
          return;
        }
        if (options.entity === undefined || options.key === undefined) throw new UsageError('give the subject: sluice erase --entity <entity> --key <key> (or --status to list requests)');
        const project = await platform.project();
        // The CLI's one principal (SLUICE_API_KEY, else the local operator), held to the applied rules.
        const principal = await cliPrincipal(platform);
        await authorizeCli(platform, principal, 'admin', 'erase');
        const stop = stopOnInterrupt();
        const { certificate } = await eraseSubject(platform, project, {
          entity: options.entity, key: options.key, principal, ...(options.reason === undefined ? {} : { reason: options.reason }),
        }, { datasets: options.flagDatasets ? 'flag' : 'rewrite', signal: stop.signal }).finally(() => stop.done());
        out.result(certificate, () => certificateText(certificate));
      }),
    );
}
