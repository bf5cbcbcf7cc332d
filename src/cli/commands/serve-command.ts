import type { Command } from 'commander';
import { AdapterError } from '../../errors.js';
import { createServer, DEFAULT_MAX_ENTITIES, LOG_LEVELS, type LogLevel } from '../../serving/http/server.js';
import { SluiceMetrics } from '../../observability/metrics.js';
import { PUSH_MIN_BYTES_PER_SECOND } from '../../serving/http/push-admission.js';
import { DEFAULT_MEMORY_BUDGET } from '../../streaming/memory-budget.js';
import { startMonitoring } from '../../observability/status/index.js';
import { UsageError } from '../exit.js';
import { configureLogging } from '../../observability/log.js';
import { ONLINE_FLUSH_EVERY_MS, startRealTime } from './real-time.js';
import { closeAfter, untilStopped } from '../interrupt.js';
import { durationMs, integerIn, oneOf, port, rate } from '../options.js';
import type { CommandContext } from './command-context.js';
import { schedulesRunHere, startProjectScheduler } from './orchestration-commands.js';
import { isLoopbackHost, servingAccess } from '../../compliance/access/open-serving.js';
import { authorizeCliProcess } from '../../compliance/access/cli-principal.js';

const ACCESS_NOTICE = {
  'auth': 'auth is on: every route but /health needs "Authorization: Bearer <key>" (sluice keys list)',
  'open-loopback': 'auth is off: no keys or access rules; listening on loopback only',
  'insecure-open': 'warning: auth is off and this server is reachable beyond this machine (--insecure-open): anyone who can connect reads features and pushes events',
} as const;

interface ServeOptions {
  port: number;
  host: string;
  logLevel: LogLevel;
  maxEntities: number;
  scheduler: boolean;
  servingLogRate: number;
  pushBodyTimeout: number;
  pushMinRate: number;
  pushMemory: number;
  insecureOpen?: boolean;
  serverName?: string;
}

/**
 * `serve`: the online feature server, the push API and the project's connectors in one process,
 * until SIGINT or SIGTERM. Logs JSON lines to stderr (`requestId` on a request's lines, `runId` on a job's).
 */
export function registerServeCommand(program: Command, run: CommandContext): void {
  const logLevel = oneOf(LOG_LEVELS);
  program
    .command('serve')
    .option('--port <port>', 'port (0 to 65535)', port, 6566)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}; default $SLUICE_LOG_LEVEL or info`, logLevel, process.env.SLUICE_LOG_LEVEL ?? 'info')
    .option('--max-entities <n>', 'entities one request may ask for', integerIn(1, 10_000_000), DEFAULT_MAX_ENTITIES)
    .option('--no-scheduler', "do not run the project's schedules in this process (they run by default when it has some, or declares retention)")
    .option('--serving-log-rate <rate>', 'share of entity keys whose requests are logged for drift and skew (0 to 1), for services that declare no log.sampleRate', rate, 0)
    .option('--server-name <name>', "what names this server in its health conditions (sluice status), stable across its restarts; default $SLUICE_SERVER_NAME, else <hostname>:<host>:<port> (one name per address served)")
    .option('--push-body-timeout <duration>', 'a push body not whole this long after its headers, nor by its size at --push-min-rate, is answered 408 (not appended)', durationMs, 60_000)
    .option('--push-min-rate <KiB/s>', 'the slowest steady sending of a push body allowed past --push-body-timeout, in KiB/s', integerIn(1, 1_048_576), PUSH_MIN_BYTES_PER_SECOND / 1024)
    .option('--push-memory <MiB>', 'the memory budget of batches of events being received, waiting and processed (push bodies and connectors, all sources), in MiB: past it a push is answered 503 with Retry-After and connectors wait', integerIn(16, 1_048_576), DEFAULT_MEMORY_BUDGET / 2 ** 20)
    .option('--insecure-open', 'serve without authentication on a non-loopback host when no key or access rule exists (anyone who can reach it reads and pushes)')
    .description('serve online features over HTTP')
    .action((options: ServeOptions) =>
      run.withPlatform(async ({ platform, out, projectDir }) => {
        if (!LOG_LEVELS.includes(options.logLevel)) throw new UsageError(`SLUICE_LOG_LEVEL="${options.logLevel}" is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
        if (options.serverName === '') throw new UsageError('--server-name must not be empty; give a name, or leave it out for $SLUICE_SERVER_NAME, else <hostname>:<host>:<port>');
        await authorizeCliProcess(platform);
        const logger = configureLogging({ level: options.logLevel });
        // Request views' functions come from sluice.config.ts: refuse to start when they are not the applied ones.
        const applied = await platform.metadata.latestRegistry();
        if (applied) await platform.requestFunctions(applied.project);
        const access = await servingAccess(platform.metadata.keys, applied?.project, options.host, options.insecureOpen === true);
        const metrics = new SluiceMetrics();
        const realTime = await startRealTime(platform, (level, message) => logger[level](message), metrics, options.pushMemory * 2 ** 20);
        // A server name another live server holds is refused (see server-name.ts): the connectors stop first.
        const serverName = options.serverName ?? (process.env.SLUICE_SERVER_NAME || undefined);
        const app = await createServer(platform, {
          metrics,
          logger, maxEntitiesPerRequest: options.maxEntities, servingLogRate: options.servingLogRate,
          pushBodyTimeoutMs: options.pushBodyTimeout, pushBodyMinBytesPerSecond: options.pushMinRate * 1024,
          ...(serverName === undefined ? {} : { serverName }), listensOn: { host: options.host, port: options.port },
          stream: realTime.runtime.processor, describeStreams: realTime.describe,
          ...(access.mode === 'insecure-open' ? {} : { requireAuth: !isLoopbackHost(options.host) }),
        }).catch(async (error: unknown) => {
          await realTime.close();
          throw error;
        });
        const monitoring = startMonitoring(platform, { log: (level, message) => logger[level](message), metrics });
        let address: string;
        try {
          address = await listen(app, options.host, options.port);
        } catch (error) {
          await monitoring.stop();
          await realTime.close();
          throw error;
        }
        // Listening for signals before saying so: a SIGTERM right after the line still shuts down cleanly.
        const scheduler = await startProjectScheduler(platform, projectDir, options.scheduler, (level, message) => logger[level](message));
        const stopped = untilStopped(platform, 'serve');
        logger[access.mode === 'insecure-open' ? 'warn' : 'info'](ACCESS_NOTICE[access.mode]);
        const { schedules, note } = schedulesRunHere(await platform.project(), options.scheduler);
        out.result({ listening: address, auth: access.mode, schedules }, () => `serving on ${address}: features, push (POST /v1/push/<source>) and the project's connectors; ${note} (Ctrl-C to stop)`);
        await closeAfter(stopped, async (why) => {
          await monitoring.stop();
          await scheduler?.stop(why);
          await app.close();
          await realTime.close();
        });
      }, { onlineFlushEveryMs: ONLINE_FLUSH_EVERY_MS }),
    );
}

/** Listens, turning "address in use" and "cannot bind" into errors that name the fix. */
export async function listen(app: Awaited<ReturnType<typeof createServer>>, host: string, portNumber: number): Promise<string> {
  try {
    return await app.listen({ port: portNumber, host });
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new AdapterError('LISTEN_FAILED', `port ${portNumber} on ${host} is already in use; stop the other server or pass --port with a free port`, { cause: error });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') {
      throw new AdapterError('LISTEN_FAILED', `cannot listen on ${host}:${portNumber} (${code}); pass --host with a local interface and --port above 1023`, { cause: error });
    }
    throw error;
  }
}
