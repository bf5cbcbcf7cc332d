import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, stdTimeFunctions, type Logger } from 'pino';
import { ConfigError } from '../errors.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Fields that may hold a secret, wherever a caller puts them: replaced by `***` before a line is
 * written. Row values are never passed to a logger in the first place (log counts, names, ids).
 */
const REDACTED = [
  'connection', 'password', 'secret', 'token', 'authorization',
  '*.connection', '*.password', '*.secret', '*.token', '*.authorization',
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]',
];

export interface LoggerOptions {
  /** Default `info`. */
  readonly level?: LogLevel;
  /** Where JSON lines go; default stderr (written synchronously, so no line is lost at exit). */
  readonly stream?: { write(line: string): void };
}

/**
 * A structured logger: one JSON object a line (pino), with `level`, an ISO `time`, `service:
 * "sluice"` and `msg`; secret-looking fields are redacted.
 *
 * @example
 * const log = createLogger({ level: 'debug' });
 * log.child({ runId }).info({ rows: 10 }, 'run succeeded');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.stream ?? pino.destination({ fd: 2, sync: true });
  return pino({ level: options.level ?? 'info', base: { service: 'sluice' }, timestamp: stdTimeFunctions.isoTime, redact: { paths: REDACTED, censor: '***' } }, destination);
}

/** The process's logger: silent until a server (`serve`, `worker`, the scheduler) configures it, so CLI output stays human. */
let root: Logger = pino({ level: 'silent' });
/** The logger of the run (or other unit of work) the current async call chain belongs to. */
const scope = new AsyncLocalStorage<Logger>();

/**
 * Makes the process log JSON lines (to stderr by default) at `level`; returns the logger. Called
 * once by each long-running command.
 *
 * @example
 * const log = configureLogging({ level: logLevelFromEnv() });
 */
export function configureLogging(options: LoggerOptions = {}): Logger {
  root = createLogger(options);
  return root;
}

/**
 * The logger to use here: the current run's (a child carrying `runId` and `job`, see
 * `trackRun`) inside one, else the process's.
 *
 * @example
 * currentLogger().warn({ source: source.name, rows }, 'rows had no cursor value');
 */
export function currentLogger(): Logger {
  return scope.getStore() ?? root;
}

/**
 * Runs `body` with `logger` as {@link currentLogger} for every call it makes, awaited or not.
 *
 * @example
 * await withLogger(currentLogger().child({ runId }), () => job());
 */
export function withLogger<T>(logger: Logger, body: () => T): T {
  return scope.run(logger, body);
}

/**
 * The level named by `SLUICE_LOG_LEVEL` (or `text`), `fallback` when unset.
 *
 * @example
 * logLevelFromEnv(); // 'info' unless SLUICE_LOG_LEVEL says otherwise
 */
export function logLevelFromEnv(text: string | undefined = process.env.SLUICE_LOG_LEVEL, fallback: LogLevel = 'info'): LogLevel {
  if (text === undefined || text === '') return fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(text)) {
    throw new ConfigError('CONFIG_INVALID', `SLUICE_LOG_LEVEL="${text}" is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
  }
  return text as LogLevel;
}
