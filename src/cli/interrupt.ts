import { watchCliProcessKey, type LongLivedCommand } from '../compliance/access/cli-principal.js';
import { InterruptedError } from '../errors.js';
import type { StopCause } from '../orchestration/scheduler.js';
import { abandonRuns } from '../orchestration/track-run.js';
import { signalExitCode } from './exit.js';

/** What a command says when it is interrupted: the state it leaves (what was committed, what to run next). */
export type InterruptReport = () => Promise<string> | string;

/** How long the report may take (it reads the metadata store) before the command exits without it. */
const REPORT_TIMEOUT_MS = 3_000;

/**
 * The CLI's one handling of Ctrl-C (SIGINT) and SIGTERM for a command that runs to its end
 * (`ingest`, `materialize`, `dataset build`, `run`, `backfill`, `transform run`): the process stops at once, as a crash would (every
 * write is atomic, so a stop loses and doubles nothing, and a lease of a dead process is taken over
 * at once), but first records its runs as interrupted (`abandonRuns`: failed with `interrupted
 * (SIGINT): <what> stopped`, ended now) and says on stderr that the command was interrupted and
 * what state it leaves (`report`), and exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). A second
 * signal while the report is read exits at once. Returns a function that removes the handling.
 *
 * @example
 * const done = exitOnInterrupt('ingest of "payments"', async () => 'nothing was committed; run the same command again');
 * try { await ingest(); } finally { done(); }
 */
export function exitOnInterrupt(what: string, report: InterruptReport): () => void {
  let stopping = false;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    const code = signalExitCode(signal);
    if (stopping) process.exit(code);
    stopping = true;
    const timeout = new Promise<string>((resolve) => setTimeout(resolve, REPORT_TIMEOUT_MS, 'its state could not be read in time: see "sluice runs" and "sluice list snapshots"').unref());
    const stopped = `interrupted (${signal}): ${what} stopped`;
    // Its runs first: run history says the command was interrupted, and when, not that its process died.
    const recordedThenReport = () => abandonRuns(stopped).then(report);
    void Promise.race([Promise.resolve().then(recordedThenReport), timeout])
      .catch((error: unknown) => `its state could not be read (${error instanceof Error ? error.message : String(error)}): see "sluice runs"`)
      .then((state) => {
        process.stderr.write(`\n${stopped}; ${state}\n`);
        process.exit(code);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that stops at its next step instead of at once (`erase`,
 * `retention run`: a purge records what it did in its run, audit and unfinished-purge records):
 * the first signal aborts `signal` with an `InterruptedError` `interrupted (SIGTERM)` (its
 * `details.signal` names it, so the command exits 128 + its number), the work fails with it
 * through the one error path (`--json` included); a second signal exits at once, as a crash would.
 * `done` removes the handling.
 *
 * @example
 * const stop = stopOnInterrupt();
 * try { await runRetention(platform, project, { principal, signal: stop.signal }); } finally { stop.done(); }
 */
export function stopOnInterrupt(): { readonly signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted) process.exit(signalExitCode(signal));
    process.stderr.write(`\ninterrupted (${signal}): stopping at the next step (again to stop at once)\n`);
    controller.abort(new InterruptedError('INTERRUPTED', `interrupted (${signal})`, { details: { signal } }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    done() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Resolves on SIGINT or SIGTERM with its name, keeping the process alive until then. */
export function untilSignal(stopWhen?: Promise<never>): Promise<'SIGINT' | 'SIGTERM'> {
  // A worker whose sources have no connector holds nothing else on the event loop: without this it exited at once (code 13).
  const alive = setInterval(() => undefined, 1 << 30);
  return new Promise<'SIGINT' | 'SIGTERM'>((resolve, reject) => {
    const end = (signal: 'SIGINT' | 'SIGTERM' | undefined, error?: unknown) => {
      clearInterval(alive);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      if (signal !== undefined) resolve(signal);
      else reject(error);
    };
    const done = (signal: 'SIGINT' | 'SIGTERM') => end(signal);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    // A process that must stop (its key revoked) ends as on a signal, with the error.
    stopWhen?.catch((error: unknown) => end(undefined, error));
  });
}

/**
 * The end of a long-lived command (`serve`, `worker`, `scheduler`, named by `command` in the audit
 * of a refusal): resolves on SIGINT or SIGTERM with its name, rejects once the process's key is
 * refused (`watchCliProcessKey`). Made before the command says it runs, so a signal right after
 * is not missed; `closeAfter` then closes what it started.
 */
export function untilStopped(ctx: Parameters<typeof watchCliProcessKey>[0], command: LongLivedCommand): Promise<'SIGINT' | 'SIGTERM'> {
  const key = watchCliProcessKey(ctx, command);
  return untilSignal(key.refused).finally(() => key.stop());
}

/**
 * Waits for `stopped` (see `untilStopped`), then runs `close` with why the process stops (`SIGTERM`,
 * `its key was refused: ...`, for the runs it stops to record), also when it rejected (with its error).
 * Stopped by a signal, the command exits 128 + its number once `close` is done (`signalExitCode`), as
 * a command stopped at once does; a `close` that fails exits through the one error path instead.
 *
 * @example
 * await closeAfter(untilStopped(platform, 'scheduler'), (why) => scheduler.stop(why));
 */
export async function closeAfter(stopped: Promise<'SIGINT' | 'SIGTERM'>, close: (why: StopCause) => Promise<void>): Promise<void> {
  let why: StopCause = { reason: 'it stopped' };
  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  try {
    signal = await stopped;
    why = { reason: signal, signal };
  } catch (error) {
    why = { reason: `its key was refused: ${(error as Error).message}` };
    throw error;
  } finally {
    await close(why);
  }
  if (signal !== undefined) process.exitCode = signalExitCode(signal);
}
