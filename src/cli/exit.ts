import { constants } from 'node:os';
import { CommanderError } from 'commander';
import { isSluiceError, type ErrorCode } from '../errors.js';
import { refusalAdvice } from '../storage/file-system-refusal.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** `sluice status`: something is unhealthy (a source or view past its freshness SLA), so a deploy can be gated on it. */
export const EXIT_UNHEALTHY = 3;

/** A mistake in how the command was called (missing or conflicting options). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The one place where errors become exit codes and messages. A user never sees a bare stack for
 * bad input, nor for a file system that refuses a write (the message names the path and the fix);
 * any other unexpected error keeps its stack, a bug to report.
 */
export function reportError(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  const usage = error instanceof UsageError;
  const advice = refusalAdvice(error);
  const refused = advice !== undefined;
  // A refusal is the environment's, not a bug: FILE_SYSTEM_REFUSED (errors.ts), unless a Sluice error carries it with its own code.
  const code: string = usage ? 'USAGE' : isSluiceError(error) ? error.code : refused ? 'FILE_SYSTEM_REFUSED' satisfies ErrorCode : 'INTERNAL';
  const message = (error instanceof Error ? error.message : String(error)) + (refused ? `: the file system refused it; ${advice}` : '');
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else {
    process.stderr.write(`error: ${message}\n`);
    if (!usage && !isSluiceError(error) && !refused && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    if (usage) process.stderr.write('run with --help for usage\n');
  }
  return usage ? EXIT_USAGE : isSluiceError(error) ? signalExit(error.details) ?? EXIT_FAILURE : EXIT_FAILURE;
}

/** A command stopped by a signal (`InterruptedError` with `details.signal`) exits as shells expect (`signalExitCode`). */
function signalExit(details: Record<string, unknown> | undefined): number | undefined {
  const signal = details?.signal;
  return typeof signal === 'string' && signal in constants.signals ? signalExitCode(signal as NodeJS.Signals) : undefined;
}

/**
 * The CLI's one rule for the exit code of a command stopped by a signal, however it stopped (at
 * once, at its next step, or after an orderly stop): 128 + the signal's number, as shells expect
 * (130 for SIGINT, 143 for SIGTERM).
 *
 * @example
 * signalExitCode('SIGTERM'); // 143
 */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
