import { constants } from 'node:os';
import { InterruptedError } from '../errors.js';
import { abandonRuns } from '../orchestration/track-run.js';

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
    const code = 128 + constants.signals[signal];
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
    if (controller.signal.aborted) process.exit(128 + constants.signals[signal]);
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
