import { Option, type Command } from 'commander';
import type { Platform } from '../../platform.js';
import type { Project } from '../../definitions/index.js';
import { backfill } from '../../orchestration/backfill.js';
import { systemClock } from '../../orchestration/clock.js';
import { withTimeout } from '../../orchestration/run-attempts.js';
import { errorWithCause } from '../../orchestration/job-health.js';
import { runJobsInOrder, withUpstream, findJob, type JobContext } from '../../orchestration/run-job.js';
import { projectJobs } from '../../definitions/jobs.js';
import { projectSchedules } from '../../orchestration/project-schedules.js';
import { didYouMean } from '../../definitions/suggest.js';
import { createScheduler, type Scheduler } from '../../orchestration/scheduler.js';
import { startMonitoring } from '../../observability/status/index.js';
import { configureLogging, logLevelFromEnv } from '../../observability/log.js';
import { listRuns } from '../../orchestration/track-run.js';
import type { RunRecord } from '../../storage/metadata/metadata-store.js';
import { formatDuration, toIso } from '../../time/index.js';
import { EXIT_FAILURE } from '../exit.js';
import { durationMs, integerIn, isoInstant } from '../options.js';
import { table } from '../output.js';
import { auditErrorCode } from '../../compliance/audit/audited-action.js';
import { authorizeCliProcess, authorizeCliStatus, cliPrincipal } from '../../compliance/access/cli-principal.js';
import { audited } from './audit-commands.js';
import type { CommandContext } from './command-context.js';
import { closeAfter, exitOnInterrupt, untilStopped } from '../interrupt.js';

function jobContext(platform: Platform, projectDir: string): JobContext {
  return { ...platform, projectDir };
}

function runRow(r: RunRecord): Record<string, unknown> {
  const stats = r.stats ?? {};
  return {
    id: r.id, job: r.job, status: r.status, trigger: r.params.trigger ?? null, runKey: r.params.runKey ?? null, attempt: r.params.attempt ?? null,
    startedAt: toIso(r.startedAt), finishedAt: r.finishedAt === null ? null : toIso(r.finishedAt), ms: r.finishedAt === null ? null : r.finishedAt - r.startedAt,
    rowsIn: stats.rowsIn ?? stats.accepted ?? null, rowsOut: stats.rowsOut ?? stats.rows ?? null,
    snapshotsRead: stats.snapshotsRead ?? stats.inputs ?? null, snapshotsWritten: stats.snapshotsWritten ?? (typeof stats.snapshot === 'string' ? [stats.snapshot] : null),
    error: r.error, code: stats.errorCode ?? null, cause: stats.cause ?? null, principal: r.params.principal ?? null, parentRunId: r.params.parentRunId ?? null, params: r.params,
  };
}

/**
 * Starts the project's scheduler in this process (see `createScheduler`); the caller stops it.
 *
 * @example
 * const scheduler = await startScheduler(platform, projectDir, (level, message) => log[level](message));
 */
export async function startScheduler(platform: Platform, projectDir: string, log: (level: 'info' | 'warn' | 'error', message: string) => void): Promise<Scheduler> {
  const scheduler = createScheduler(jobContext(platform, projectDir), { project: async () => (await platform.metadata.latestRegistry())?.project, log });
  await scheduler.start();
  return scheduler;
}

/**
 * The scheduler of `sluice serve` and `sluice worker`: started when `enabled` (not
 * `--no-scheduler`), whatever the applied project declares now: it reads the applied project at
 * every tick, so schedules (its own or built-in, `projectSchedules`: declared retention is enforced
 * without a schedule of the user's) that a later `sluice apply` declares run without a restart;
 * undefined otherwise.
 *
 * @example
 * const scheduler = await startProjectScheduler(platform, projectDir, options.scheduler, log);
 */
export async function startProjectScheduler(platform: Platform, projectDir: string, enabled: boolean, log: (level: 'info' | 'warn' | 'error', message: string) => void): Promise<Scheduler | undefined> {
  return enabled ? startScheduler(platform, projectDir, log) : undefined;
}

/**
 * What a process's start line says of the schedules it runs (`sluice scheduler`, `serve`,
 * `worker`): their names now (`projectSchedules`: later applies are picked up), or null when it
 * runs none (`--no-scheduler`), and the words for it.
 *
 * @example
 * const { schedules, note } = schedulesRunHere(project, options.scheduler); // note: 'schedules run here: retention:fraud (built in, hourly)'
 */
export function schedulesRunHere(project: Project, enabled: boolean): { schedules: string[] | null; note: string } {
  if (!enabled) return { schedules: null, note: 'schedules: not run here (--no-scheduler)' };
  const schedules = projectSchedules(project).map((s) => s.name);
  return {
    schedules,
    note: schedules.length === 0 ? 'schedules: none declared (add schedules: [schedule({...})] to defineProject; they run here once applied)' : `schedules run here: ${schedules.join('; ')}`,
  };
}

/** `(did you mean "ingest:payments"?)` for a `--job` with no runs: a job of the project or one in run history. */
async function suggestJob(platform: Platform, job: string): Promise<string> {
  const known = new Set(await platform.project().then((project) => projectJobs(project).map((j) => j.name), () => []));
  for (const run of await platform.metadata.listRuns(1_000)) known.add(run.job);
  return didYouMean(job, known);
}

/** `run`, `runs`, `backfill`, `scheduler`: the project's jobs, their history and their schedules. */
export function registerOrchestrationCommands(program: Command, run: CommandContext): void {
  program
    .command('run')
    .argument('<job>', 'a job: ingest:<source>, transform:<name>, materialize:<view>, dataset:<name> or retention:<project> (the retention policies; see "sluice runs" and docs/orchestration.md)')
    .option('--with-upstream', 'run the jobs it depends on first, in dependency order, stopping at the first failure')
    .option('--timeout <duration>', 'stop each job that runs longer than this, e.g. 10m: stopped before its commit point it fails ("timed out after 10m", reported as job_hung) and commits nothing; past it, it finishes (docs/orchestration.md)', durationMs)
    .description('run a job of the project now, recorded in run history')
    .action((name: string, options: { withUpstream?: boolean; timeout?: number }) =>
      run.withPlatform(audited({ action: 'job.run', target: `job:${name}`, failed: (e) => e.failed !== null }, async ({ platform, out, projectDir }) => {
        const project = await platform.project();
        const jobs = options.withUpstream ? withUpstream(project, name) : [findJob(project, name)];
        const jc = jobContext(platform, projectDir);
        const timeoutMs = options.timeout;
        // A timed-out job's work is waited for, but only for a while (withTimeout's grace): the
        // platform (its DuckDB, the metadata store) must outlive it, or the work hangs on a closed engine.
        const stopping: Promise<void>[] = [];
        const limit = timeoutMs === undefined ? {} : {
          timeoutMs,
          limit: <T>(work: (signal: AbortSignal) => Promise<T>) => {
            let settled = (): void => undefined;
            stopping.push(new Promise<void>((resolve) => (settled = resolve)));
            return withTimeout(jc, systemClock, timeoutMs, undefined, work, async () => settled());
          },
        };
        // A human's run acts as the CLI's principal (SLUICE_API_KEY, else the local operator), authorized per job.
        const principal = await cliPrincipal(platform);
        let finished = 0;
        const interrupted = exitOnInterrupt(`run of ${name}`, () => `${finished} of ${jobs.length} job(s) had finished; see "sluice runs"; run the same command again`);
        const result = await runJobsInOrder(jc, project, jobs, { trigger: 'manual', principal, ...limit }, (_job, done, total) => {
          finished = done;
          out.progress('run', done, total);
        }).finally(interrupted);
        const failed = result.failed && { job: result.failed.job, ...errorWithCause(result.failed.error) };
        out.result({ ran: result.ran, ...(failed ? { failed } : {}), notRun: result.notRun }, () => [
          ...result.ran.map((r) => `${r.job}: succeeded, ${r.stats.rowsIn} rows in, ${r.stats.rowsOut} out${r.stats.snapshotsWritten.length > 0 ? `, wrote ${r.stats.snapshotsWritten.join(', ')}` : ''}`),
          ...(failed ? [`${failed.job}: FAILED: ${failed.message}${failed.cause ? ` (cause: ${failed.cause})` : ''}`] : []),
          ...(result.notRun.length > 0 ? [`not run, downstream of the failure: ${result.notRun.join(', ')}`] : []),
        ].join('\n'));
        if (failed) process.exitCode = EXIT_FAILURE;
        await Promise.all(stopping);
        return {
          ran: result.ran.map((r) => ({ job: r.job, rowsIn: r.stats.rowsIn, rowsOut: r.stats.rowsOut, snapshots: r.stats.snapshotsWritten })),
          failed: result.failed ? { job: result.failed.job, error: auditErrorCode(result.failed.error) } : null,
          notRun: result.notRun,
        };
      })),
    );

  program
    .command('runs')
    .option('--failed', 'only failed runs')
    .option('--job <name>', 'only runs of this job (e.g. materialize:fraud_v1, or ingest for "sluice ingest" runs)')
    .option('--limit <n>', 'at most this many runs', integerIn(1, 100_000), 50)
    .description('run history, newest first: status, trigger, run key, attempt, timings, rows in and out, snapshots read and written, error and cause')
    .action((options: { failed?: boolean; job?: string; limit: number }) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        const runs = (await listRuns(platform, options.limit, { ...(options.job ? { job: options.job } : {}), ...(options.failed ? { status: 'failed' as const } : {}) })).map(runRow);
        const none = options.job === undefined ? 'No runs.' : `No runs of job "${options.job}"${await suggestJob(platform, options.job)}.`;
        out.result({ runs }, () => runs.length === 0 ? none : table(
          ['started', 'job', 'status', 'trigger', 'principal', 'attempt', 'ms', 'rows in', 'rows out', 'run key', 'error'],
          runs.map((r) => [r.startedAt, r.job, r.status === 'failed' ? 'FAILED' : r.status, (r.params as { rerun?: boolean }).rerun ? `${String(r.trigger)} (re-run)` : r.trigger, r.principal, r.attempt, r.ms, r.rowsIn, r.rowsOut, r.runKey,
            r.error === null ? null : `${r.code ? `${String(r.code)}: ` : ''}${String(r.error)}${r.cause ? ` (cause: ${String(r.cause)})` : ''}`]),
        ));
      }),
    );

  program
    .command('backfill')
    .argument('<job>', 'an ingest job: ingest:<source> (each partition ingests the files whose names carry a date in it)')
    .requiredOption('--from <time>', 'start of the range, inclusive: 2026-01-01 (its midnight, UTC) or an ISO-8601 time (without an offset, UTC)', isoInstant)
    .requiredOption('--to <time>', 'end of the range, exclusive', isoInstant)
    .addOption(new Option('--partition <duration>', 'partition length, e.g. 1d or 6h').argParser(durationMs).default(86_400_000, '1d'))
    .option('--retries <n>', 'attempts after the first, per partition', integerIn(0, 100), 2)
    .addOption(new Option('--timeout <duration>', 'time limit of each attempt').argParser(durationMs).default(3_600_000, '1h'))
    .option('--rerun', "run the partitions again even when they succeeded (after a fix of the source's definition): their rows are replaced, atomically, not doubled")
    .description('run a job over a time range, one run per partition, each retried on its own; run it again to resume (partitions that succeeded are skipped; --rerun: run again)')
    .action((job: string, options: { from: number; to: number; partition: number; retries: number; timeout: number; rerun?: boolean }) =>
      run.withPlatform(audited({ action: 'backfill', target: `job:${job}`, failed: (e) => Number(e.failed) > 0 || Number(e.runningElsewhere) > 0 }, async ({ platform, out, projectDir }) => {
        const project = await platform.project();
        let settled = 'no partition had finished';
        const interrupted = exitOnInterrupt(`backfill of ${job}`, () => `${settled}; run the same command again to resume (partitions that succeeded are skipped)`);
        const result = await backfill(jobContext(platform, projectDir), project, job, {
          from: options.from, to: options.to, partitionMs: options.partition, principal: await cliPrincipal(platform), rerun: options.rerun === true,
          policy: { retries: options.retries, timeoutMs: options.timeout, backoffBaseMs: 1_000, backoffMaxMs: 60_000 },
          onProgress: (p) => {
            settled = `${p.done + p.skipped} of ${p.total} partition(s) done, ${p.failed} failed`;
            out.progress(`backfill ${job}`, p.done + p.skipped + p.failed, p.total);
            out.info(`backfill ${job}: ${p.done + p.skipped}/${p.total} done (${p.skipped} already), ${p.failed} failed`);
          },
        }).finally(interrupted);
        out.result(result, () => [
          table(['partition', 'status', 'attempts', 'error'], result.partitions.map((p) => [`${p.start}/${p.end}`, p.status === 'failed' ? 'FAILED' : p.status, p.attempts, p.error])),
          `backfill ${job} by ${formatDuration(options.partition)}${result.rerun ? ' (re-run)' : ''}: ${result.done} succeeded, ${result.skipped} already done, ${result.failed} failed, ` +
            `${result.runningElsewhere > 0 ? `${result.runningElsewhere} running in another backfill, ` : ''}of ${result.total}` +
            (result.failed > 0 ? '\nrun the same command again to retry the failed partitions' : '') +
            (result.runningElsewhere > 0 ? `\n${result.runningElsewhere} partition(s) are run by another backfill that is still running: run the same command again once it ends, to confirm they succeeded` : ''),
        ].join('\n'));
        // A re-run's snapshot replaces rows: no view's online table takes it as added rows.
        if (result.rerun && result.done > 0) out.info(`note: backfill ${job}: the re-run replaced the rows of ${result.done} partition(s); the online tables of the source's views hold the earlier rows until "sluice materialize" rebuilds them`);
        const stale = result.partitions.filter((p) => p.notIngested !== undefined);
        if (stale.length > 0) out.info(`warning: backfill ${job}: ${stale.length} partition(s) done before have files never ingested (they arrived after): ${stale.flatMap((p) => p.notIngested!).slice(0, 5).join(', ')}; a done partition is not run again: run "sluice run ${job}" to ingest them (files already ingested are skipped)`);
        const undated = result.undatedFiles;
        if (undated.length > 0) out.info(`warning: backfill ${job}: ${undated.length} file(s) the glob matches carry no date, so no partition ingests them: ${undated.slice(0, 5).join(', ')}${undated.length > 5 ? ', ...' : ''} (name them by day, e.g. payments-2026-01-31.csv, or put them under dt=2026-01-31/; "sluice run ${job}" ingests every file)`);
        // A partition left to another backfill is not done yet: a script must not go on as if the range were.
        if (result.failed > 0 || result.runningElsewhere > 0) process.exitCode = EXIT_FAILURE;
        return { from: toIso(options.from), to: toIso(options.to), partitionMs: options.partition, total: result.total, done: result.done, skipped: result.skipped, failed: result.failed, runningElsewhere: result.runningElsewhere, undatedFiles: undated };
      })),
    );

  program
    .command('scheduler')
    .description("run the project's schedules and triggers until SIGINT or SIGTERM (also inside \"sluice serve\" and \"sluice worker\")")
    .action(() =>
      run.withPlatform(async ({ platform, out, projectDir }) => {
        await authorizeCliProcess(platform);
        const project = await platform.project();
        const logger = configureLogging({ level: logLevelFromEnv() });
        const log = (level: 'info' | 'warn' | 'error', message: string) => logger[level](message);
        const scheduler = await startScheduler(platform, projectDir, log);
        // Alerts and freshness SLAs are watched wherever the scheduler runs alone.
        const monitoring = startMonitoring(platform, { log });
        const stopped = untilStopped(platform, 'scheduler');
        const { schedules, note } = schedulesRunHere(project, true);
        out.result({ schedules }, () => `scheduler running; ${note} (Ctrl-C to stop)`);
        await closeAfter(stopped, async (why) => {
          await monitoring.stop();
          await scheduler.stop(why);
        });
      }),
    );
}
