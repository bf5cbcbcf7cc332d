import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's logger that becomes the parent's `child(bindings)` on its first line: a request that
 * logs nothing (every served request below `info`, as `sluice serve --log-level warn`) builds no
 * pino child. A line at a level the parent has off is dropped without one, as the child would.
 */
class RequestLogger implements FastifyBaseLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger & { isLevelEnabled(level: string): boolean },
    private readonly bindings: Bindings,
  ) {}

  get level(): string {
    return (this.real ?? this.parent).level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }

  fatal(...args: unknown[]): void {
    this.line('fatal', args);
  }

  error(...args: unknown[]): void {
    this.line('error', args);
  }

  warn(...args: unknown[]): void {
    this.line('warn', args);
  }

  info(...args: unknown[]): void {
    this.line('info', args);
  }

  debug(...args: unknown[]): void {
    this.line('debug', args);
  }

  trace(...args: unknown[]): void {
    this.line('trace', args);
  }

  silent(): void {}

  private logger(): FastifyBaseLogger {
    return (this.real ??= this.parent.child(this.bindings));
  }

  private line(level: Level, args: unknown[]): void {
    if (this.real === undefined && !this.parent.isLevelEnabled(level)) return;
    (this.logger()[level] as (...a: unknown[]) => void)(...args);
  }
}

/**
 * fastify's `childLoggerFactory` for the server: per request a {@link RequestLogger} (its lines
 * carry the request id as a pino child's do), a plain pino child when the route sets its own
 * level or serializers, or when the logger is not pino's (no `isLevelEnabled`).
 *
 * @example
 * Fastify({ loggerInstance, childLoggerFactory: requestLogger });
 */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  const parent = logger as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
  if (options.level !== undefined || options.serializers !== undefined || typeof parent.isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new RequestLogger(parent as FastifyBaseLogger & { isLevelEnabled(level: string): boolean }, bindings);
}
