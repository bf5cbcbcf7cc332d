import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { API_KEY_ENV, authorizeCli, authorizeCliStatus, authorizeCliValues, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { checkSampleValues } from '../../compliance/access/shown-values.js';
import { LOCAL_OPERATOR_ROLE } from '../../definitions/index.js';
import type { Platform } from '../../platform.js';
import { transformSource } from '../../processing/transforms/run-transform.js';
import { dropBatch, releaseBatch } from '../../quality/quarantine.js';
import { appliedNote, applySnapshotOnline } from '../../streaming/apply-snapshot.js';
import { checkSubject, declaredCheckSubjects } from '../../quality/run-checks.js';
import { toIso } from '../../time/index.js';
import { UsageError } from '../exit.js';
import { table } from '../output.js';
import { audited } from './audit-commands.js';
import type { CommandContext } from './command-context.js';

/**
 * Authorizes resolving a held batch (`admin: ["quarantine"]`) and says who resolves it. Acting as a
 * key (`SLUICE_API_KEY`), the key's principal: a `--by` naming anyone else is refused, so the
 * record cannot name someone who did not do it. As the local operator (who can write the lake's
 * files anyway), `--by`, else `SLUICE_USER`, else the OS user.
 */
async function resolver(platform: Platform, by: string | undefined): Promise<string> {
  const principal = await cliPrincipal(platform);
  await authorizeCli(platform, principal, 'admin', 'quarantine');
  if (principal.roles.includes(LOCAL_OPERATOR_ROLE)) return by ?? process.env.SLUICE_USER ?? userInfo().username;
  if (by !== undefined && by !== principal.name) throw new UsageError(`--by ${by}: acting as ${principal.name} (${API_KEY_ENV}), the batch is resolved by ${principal.name}; omit --by, or unset ${API_KEY_ENV} to act as the local operator`);
  return principal.name;
}

function batchId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError(`"${text}" is not a quarantined batch id; "sluice quarantine list" shows them`);
  return id;
}

/**
 * Check results as the caller may see them: with `--samples` (failing rows' values) once it holds
 * the right of the door that serves those values (`authorizeShownValues`, audited `values.read`,
 * target `cli:<command>`; refused with a `PolicyError`), else with `sampleCount` in their place:
 * the status right shows figures, not the data.
 */
async function withSamples<R extends { readonly dataset: string; readonly samples: readonly string[] }>(platform: Platform, command: string, results: readonly R[], shown: boolean): Promise<(Omit<R, 'samples'> & { samples?: readonly string[]; sampleCount: number })[]> {
  if (shown) {
    const withAny = results.filter((r) => r.samples.length > 0).map((r) => r.dataset);
    if (withAny.length > 0) await authorizeCliValues(platform, await cliPrincipal(platform), await platform.project(), command, checkSampleValues(await platform.project(), withAny));
    return results.map((r) => ({ ...r, sampleCount: r.samples.length }));
  }
  return results.map(({ samples, ...r }) => ({ ...r, sampleCount: samples.length }));
}

/** `a, b of "txns"; c of "stats"`: check names grouped by dataset. */
function removedNames(results: readonly { readonly dataset: string; readonly check: string }[]): string {
  const byDataset = new Map<string, string[]>();
  for (const r of results) byDataset.set(r.dataset, [...(byDataset.get(r.dataset) ?? []), r.check]);
  return [...byDataset].map(([dataset, checks]) => `${checks.join(', ')} of "${dataset}"`).join('; ');
}

/** `checks [--failed]` and `quarantine [list|release ID|drop ID]`: data quality results and held batches. */
export function registerQualityCommands(program: Command, run: CommandContext): void {
  program
    .command('checks')
    .option('--failed', 'only checks whose latest result failed')
    .option('--dataset <name>', 'only the checks of one source, transform or view')
    .option('--samples', 'with the failing rows each result kept (--json): needs the right to see those values, as sluice dlq asks for a source\'s rows and sluice get for a view\'s features')
    .description('the latest result of every data quality check, per dataset and check')
    .action((options: { failed?: boolean; dataset?: string; samples?: boolean }) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        const declared = declaredCheckSubjects(await platform.project());
        const latest = await platform.metadata.quality.latestResults({ ...(options.failed ? { failed: true } : {}), ...(options.dataset ? { dataset: options.dataset } : {}) });
        // A removed check's last result stays in the store (history) but is not a current result.
        const results = latest.filter((r) => declared.has(checkSubject(r.dataset, r.check)));
        const removed = latest.filter((r) => !declared.has(checkSubject(r.dataset, r.check)));
        const quarantineStatus = new Map<number, string>();
        for (const id of new Set(results.flatMap((r) => (r.quarantineId === null ? [] : [r.quarantineId])))) {
          const batch = await platform.metadata.quality.quarantined(id);
          if (batch) quarantineStatus.set(id, batch.status);
        }
        const held = (r: (typeof results)[number]) => {
          if (r.quarantineId === null || r.passed || r.severity !== 'error') return '';
          const status = quarantineStatus.get(r.quarantineId);
          return status === undefined || status === 'held' ? ` (quarantined as ${r.quarantineId})` : ` (quarantined as ${r.quarantineId}, since ${status})`;
        };
        const removedNote = removed.length === 0 ? '' : `\n${removed.length} check${removed.length === 1 ? '' : 's'} no longer declared ${removed.length === 1 ? 'is' : 'are'} not listed (${removedNames(removed)})`;
        const shown = await withSamples(platform, 'checks', results, options.samples === true);
        out.result({
          checks: shown.map((r) => ({ ...r, evaluatedAt: toIso(r.evaluatedAt), quarantineStatus: r.quarantineId === null ? null : (quarantineStatus.get(r.quarantineId) ?? null) })),
          removed: removed.map((r) => `${r.dataset}/${r.check}`),
        }, () =>
          (results.length === 0
            ? options.failed ? 'No check is failing.' : 'No check has run yet.'
            : table(['dataset', 'check', 'severity', 'result', 'failing', 'rows', 'evaluated', 'message'],
              results.map((r) => [r.dataset, r.check, r.severity, r.passed ? 'pass' : 'FAIL', r.failingRows, r.totalRows, toIso(r.evaluatedAt), `${r.message}${held(r)}`]))) + removedNote,
        );
      }),
    );

  const quarantine = program.command('quarantine').description('batches held back by failing error checks: list, release or drop them');
  const list = (options: { all?: boolean; samples?: boolean }) =>
    run.withPlatform(async ({ platform, out }) => {
      await authorizeCliStatus(platform);
      const listed = await platform.metadata.quality.listQuarantine(options.all ? {} : { status: 'held' });
      const shown = await withSamples(platform, 'quarantine', listed.flatMap((b) => b.results), options.samples === true);
      let at = 0;
      const batches = listed.map((b) => ({ ...b, results: b.results.map(() => shown[at++]!) }));
      out.result({ batches: batches.map((b) => ({ ...b, createdAt: toIso(b.createdAt), resolvedAt: b.resolvedAt === null ? null : toIso(b.resolvedAt) })) }, () =>
        batches.length === 0
          ? options.all ? 'No batch was ever quarantined.' : 'No batch is held in quarantine.'
          : table(['id', 'dataset', 'status', 'rows', 'origin', 'held', 'failed checks', 'resolved'],
            batches.map((b) => [b.id, b.dataset, b.status, b.rows, b.origin, toIso(b.createdAt), b.results.filter((r) => !r.passed && r.severity === 'error').map((r) => r.check).join(', '),
              b.resolvedAt === null ? null : `${b.resolvedBy} ${toIso(b.resolvedAt)}${b.snapshot ? ` -> ${b.snapshot}` : ''}`])),
      );
    });
  quarantine.action(() => list({}));
  quarantine.command('list').option('--all', 'released and dropped batches too').option('--samples', 'with the failing rows of each batch\'s check results (--json): needs the right to write the source, as sluice dlq asks').description('held batches, newest first').action(list);
  quarantine
    .command('release')
    .argument('<id>', 'the quarantined batch')
    .option('--by <name>', 'who releases it, as the local operator (default: SLUICE_USER or the OS user); with SLUICE_API_KEY the key\'s principal')
    .description('commit a held batch as if its checks had passed (the normal, idempotent commit)')
    .action((id: string, options: { by?: string }) =>
      run.withPlatform(audited({ action: 'quarantine.release', target: `quarantine:${id}` }, async ({ platform, out }) => {
        const { batch, snapshot, committed } = await releaseBatch(platform, batchId(id), await resolver(platform, options.by));
        // As an ingest or transform run does: the committed rows reach the online tables too.
        const project = await platform.project();
        const source = batch.lineage ? transformSource(project, batch.dataset) : project.sources.find((s) => s.name === batch.dataset);
        const online = committed && source ? await applySnapshotOnline(platform, project, source, snapshot) : undefined;
        out.result({ batch, snapshot: snapshot.id, committed, online: online?.applied ?? [] }, () =>
          (committed
            ? `released quarantined batch ${batch.id}: ${batch.rows} rows committed to "${batch.dataset}" as snapshot ${snapshot.id} (by ${batch.resolvedBy})`
            : `quarantined batch ${batch.id} is released: its rows are in snapshot ${snapshot.id} of "${batch.dataset}"; nothing was committed again`) + (online ? appliedNote(online) : ''));
        return { batch: batch.id, dataset: batch.dataset, rows: batch.rows, snapshot: snapshot.id, committed, by: batch.resolvedBy };
      })),
    );
  quarantine
    .command('drop')
    .argument('<id>', 'the quarantined batch')
    .option('--by <name>', 'who drops it, as the local operator (default: SLUICE_USER or the OS user); with SLUICE_API_KEY the key\'s principal')
    .description('delete a held batch; nothing reaches the lake')
    .action((id: string, options: { by?: string }) =>
      run.withPlatform(audited({ action: 'quarantine.drop', target: `quarantine:${id}` }, async ({ platform, out }) => {
        const batch = await dropBatch(platform, batchId(id), await resolver(platform, options.by));
        out.result({ batch }, () => `dropped quarantined batch ${batch.id} of "${batch.dataset}" (${batch.rows} rows, by ${batch.resolvedBy})`);
        return { batch: batch.id, dataset: batch.dataset, rows: batch.rows, by: batch.resolvedBy };
      })),
    );
}
