import type { Command } from 'commander';
import { authorizeCli, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { findSource } from '../../definitions/index.js';
import { compactSource, type CompactionReport } from '../../orchestration/compact-lake.js';
import { UsageError } from '../exit.js';
import { table } from '../output.js';
import { audited } from './audit-commands.js';
import type { CommandContext } from './command-context.js';

const MIB = 1024 * 1024;

/** The text of `sluice compact`: per source, its latest snapshot's files before and after. */
export function compactText(reports: readonly CompactionReport[]): string {
  if (reports.every((r) => r.snapshot === null)) return `Nothing to compact: no source has enough small files (${reports.map((r) => `${r.source}: ${r.filesBefore} file(s)`).join(', ') || 'no source'}).`;
  return table(['source', 'files before', 'files after', 'rewritten', 'written', 'rows', 'snapshot'], reports.map((r) => [r.source, r.filesBefore, r.filesAfter, r.replaced, r.written, r.rows, r.snapshot ?? '(nothing due)']));
}

/** `compact [source] [--min-files n] [--small-file-mib n] [--max-files n]`: compacts sources' small lake files now. */
export function registerCompactCommand(program: Command, run: CommandContext): void {
  const count = (flag: string, min: number) => (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} takes a whole number of at least ${min}, not "${v}"`);
    return n;
  };
  program
    .command('compact')
    .argument('[source]', 'the source to compact (default: every source but transform tables)')
    .option('--min-files <n>', 'compact a source when its latest snapshot has at least this many small files', count('--min-files', 2), 2)
    .option('--small-file-mib <n>', 'a file smaller than this many MiB is small', count('--small-file-mib', 1), 32)
    .option('--max-files <n>', 'rewrite at most this many files per source in this pass', count('--max-files', 2), 1_000)
    .description("rewrite a source's small lake files (stream micro-batches, small ingests) into fewer, larger ones, committed as a compaction snapshot of the same rows; older snapshots keep their files until retention expires them and gc removes them")
    .action((sourceName: string | undefined, options: { minFiles: number; smallFileMib: number; maxFiles: number }) =>
      run.withPlatform(audited({ action: 'compact', target: 'lake' }, async ({ platform, out }) => {
        await authorizeCli(platform, await cliPrincipal(platform), 'admin', 'gc');
        const project = await platform.project();
        const sources = sourceName === undefined ? project.sources.filter((s) => s.kind !== 'transform').map((s) => s.name) : [findSource(project, sourceName).name];
        const policy = { minFiles: options.minFiles, smallFileBytes: options.smallFileMib * MIB, maxFiles: options.maxFiles };
        const reports: CompactionReport[] = [];
        for (const source of sources) reports.push(await compactSource(platform, project, source, { policy }));
        out.result({ sources: reports }, () => compactText(reports));
        return { sources: reports.map((r) => ({ source: r.source, snapshot: r.snapshot, replaced: r.replaced, written: r.written })) };
      })),
    );
}
