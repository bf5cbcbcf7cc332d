import { CommanderError } from 'commander';
import { isSluiceError } from '../errors.js';
import { refusedPath } from '../storage/file-system-refusal.js';

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
  const code = usage ? 'USAGE' : isSluiceError(error) ? error.code : 'INTERNAL';
  const refused = refusedPath(error);
  const message = (error instanceof Error ? error.message : String(error)) +
    (refused === undefined ? '' : `: the file system refused it; check that ${refused} and its directory are writable and the disk has space, then run the command again`);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else {
    process.stderr.write(`error: ${message}\n`);
    if (!usage && !isSluiceError(error) && refused === undefined && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    if (usage) process.stderr.write('run with --help for usage\n');
  }
  return usage ? EXIT_USAGE : EXIT_FAILURE;
}
