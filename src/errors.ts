/**
 * The one error model of Sluice. Every error a user can cause or meet carries a stable
 * string `code`, a message that names the thing and the fix, optional `details`, and a `cause`.
 * The HTTP layer maps `code` to a status in one table (`serving/http/error-status.ts`), the CLI
 * maps errors to exit codes in one place (`cli/exit.ts`).
 *
 * @example
 * throw new DefinitionError('DEFINITION_INVALID', 'feature view "txn_stats": window "7x" is not a duration');
 */
export type ErrorCode =
  | 'DEFINITION_INVALID'
  | 'CONFIG_INVALID'
  | 'PROJECT_NOT_FOUND'
  | 'NOT_APPLIED'
  | 'NOT_FOUND'
  | 'UNKNOWN_FEATURE'
  | 'UNKNOWN_SOURCE'
  | 'UNKNOWN_SERVICE'
  | 'CONFLICT'
  | 'OVERLOADED'
  | 'VALIDATION_FAILED'
  | 'BAD_REQUEST'
  | 'REQUEST_TOO_LARGE'
  | 'METHOD_NOT_ALLOWED'
  | 'LISTEN_FAILED'
  | 'MISSING_ENTITY_KEY'
  | 'UNKNOWN_ENTITY_KEY'
  | 'UNSUPPORTED_FORMAT'
  | 'ADAPTER_FAILED'
  /** The file system refused a write or a read (read-only, no permission, no space): the environment, not a bug. */
  | 'FILE_SYSTEM_REFUSED'
  | 'POLICY_DENIED'
  | 'UNAUTHENTICATED'
  | 'USER_CODE_FAILED'
  | 'TIMED_OUT'
  /** Work stopped by a signal (SIGINT, SIGTERM) or a stopping process before its end: what it committed stays, and running it again finishes it. */
  | 'INTERRUPTED'
  /** A request's body did not arrive in time (HTTP 408): the client, not the work. */
  | 'REQUEST_TIMED_OUT';

export interface SluiceErrorOptions {
  readonly details?: Record<string, unknown>;
  readonly cause?: unknown;
  /** False when the same work again cannot succeed until a person acts (see `isRetryable`). */
  readonly retryable?: false;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
    this.retryable = options.retryable ?? true;
  }
}

export class DefinitionError extends SluiceError {}
export class ConfigError extends SluiceError {}
export class NotFoundError extends SluiceError {}
export class ConflictError extends SluiceError {}
export class ValidationError extends SluiceError {}
export class AdapterError extends SluiceError {}
export class PolicyError extends SluiceError {}
/** No valid credentials (HTTP 401); a valid caller without the right gets a `PolicyError` (403). */
export class AuthenticationError extends SluiceError {}
/** Work stopped because it ran past its time limit (a job's `timeout`). */
export class TimeoutError extends SluiceError {}

/**
 * Work stopped before its end because it was asked to (a signal, a scheduler or server that
 * stops), not because it failed: what it committed stays committed, and its message says what
 * finishes it. `details.signal` names the signal when there was one (the CLI exits 128 + its number).
 *
 * @example
 * throw new InterruptedError('INTERRUPTED', 'interrupted (SIGTERM)', { details: { signal: 'SIGTERM' } });
 */
export class InterruptedError extends SluiceError {}

/**
 * The error of work that `signal` stopped: `message` given the stop's reason as text (`interrupted
 * (SIGTERM)`), the reason's details (`signal`, so the CLI's exit code) with `details`, and `cause`
 * (the statement the stop interrupted), else the reason, as its cause.
 *
 * @example
 * throw stoppedBy(signal, (why) => `${why} while waiting for the lease "x"`, { lease: 'x' });
 */
export function stoppedBy(signal: AbortSignal | undefined, message: (why: string) => string, details: Record<string, unknown>, cause?: unknown): InterruptedError {
  const reason: unknown = signal?.reason;
  const why = reason instanceof Error ? reason.message : String(reason);
  const own = isSluiceError(reason) && reason.details !== undefined ? reason.details : {};
  return new InterruptedError('INTERRUPTED', message(why), { details: { ...own, ...details }, cause: cause ?? reason });
}

/** Wraps an exception thrown by user code (a project file, a transform), keeping its stack. */
export class UserCodeError extends SluiceError {
  constructor(message: string, cause: unknown) {
    super('USER_CODE_FAILED', message, { cause });
    if (cause instanceof Error && cause.stack) this.stack = `${this.stack}\nCaused by: ${cause.stack}`;
  }
}

/**
 * True for any Sluice error, including one raised by a second copy of this module (a project
 * file loaded through the TypeScript loader gets its own module instance).
 */
export function isSluiceError(error: unknown): error is SluiceError {
  return (
    error instanceof SluiceError ||
    (error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && 'details' in error)
  );
}

/**
 * Whether a failed attempt may succeed if run again unchanged (a retry, a backfill's next
 * attempt): not a refusal of the caller's rights, nor an error raised as not retryable (content
 * held in quarantine: only a release, a drop or `--force` changes the outcome).
 *
 * @example
 * if (!isRetryable(error)) return { status: 'failed', attempts };
 */
export function isRetryable(error: unknown): boolean {
  if (!isSluiceError(error)) return true;
  return error.code !== 'POLICY_DENIED' && (error as { retryable?: unknown }).retryable !== false;
}
