import type { Command } from 'commander';
import type { Project } from '../../definitions/index.js';
import { CONNECTORS } from '../../ingest/connectors/index.js';
import type { Platform } from '../../platform.js';
import type { AppendOutcome, ConnectorStatus } from '../../ingest/connectors/connector.js';
import type { SluiceMetrics } from '../../observability/metrics.js';
import { FreshnessHistogram } from '../../streaming/freshness.js';
import { startStreamRuntime, type StreamRuntime } from '../../streaming/stream-runtime.js';
import { connectorHealthWatch, connectorUnownedWatch, reportConnectorIncident, startMonitoring, streamSchemaWatch } from '../../observability/status/index.js';
import { configureLogging, logLevelFromEnv } from '../../observability/log.js';
import type { CommandContext } from './command-context.js';
import { schedulesRunHere, startProjectScheduler } from './orchestration-commands.js';
import { authorizeCliProcess } from '../../compliance/access/cli-principal.js';
import { closeAfter, untilStopped } from '../interrupt.js';
import { ConfigError } from '../../errors.js';

export interface RealTime {
  readonly runtime: StreamRuntime;
  /** What `GET /v1/streams` answers: sources, connectors, freshness. */
  describe(): unknown;
  close(): Promise<void>;
}

/** How often the connectors' states are turned into health conditions. */
const CONNECTOR_HEALTH_EVERY_MS = 1_000;

/**
 * The ttl of each connector's lease (`SLUICE_CONNECTOR_LEASE_TTL_MS`, default the lease module's
 * minute): how long a standby waits for a holder that stopped renewing (a clean stop, or one that
 * died on this host, is taken over at once). Shorter takes over sooner and renews more often.
 */
function connectorLeaseTtlMs(): number | undefined {
  const text = process.env.SLUICE_CONNECTOR_LEASE_TTL_MS;
  if (text === undefined || text === '') return undefined;
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 100) throw new ConfigError('CONFIG_INVALID', `SLUICE_CONNECTOR_LEASE_TTL_MS is "${text}": write a whole number of milliseconds, at least 100 (default 60000)`);
  return ms;
}

/**
 * Starts the stream runtime over the applied registry (followed as it changes), with every
 * connector Sluice has and a freshness histogram.
 */
export async function startRealTime(platform: Platform, log: (level: 'info' | 'warn' | 'error', message: string) => void, metrics?: SluiceMetrics, memoryBudget?: number): Promise<RealTime> {
  let project: Project = await platform.project();
  const follow = setInterval(() => {
    platform.metadata.latestRegistry().then((latest) => {
      if (latest) project = latest.project;
    }, (error: unknown) => log('error', `registry refresh failed (retrying): ${(error as Error).message}`));
  }, 1_000);
  follow.unref();
  const freshness = new FreshnessHistogram();
  const watchSchema = streamSchemaWatch(platform, () => project, log);
  let incidents: Promise<void> = Promise.resolve();
  const ttlMs = connectorLeaseTtlMs();
  const runtime = await startStreamRuntime(platform, { project: () => project, connectors: CONNECTORS, log, ...(memoryBudget === undefined ? {} : { memoryBudget }), ...(ttlMs === undefined ? {} : { connectorLeaseTtlMs: ttlMs }), onVisible: (view, ack, visible) => {
      freshness.observe(view, ack, visible);
      metrics?.recordVisible(view, ack, visible);
    },
    onAppended: (source: string, origin: string, outcome: AppendOutcome) => {
      metrics?.recordAppend(source, origin, outcome);
      watchSchema(source, origin, outcome);
    },
    onConnectorIncident: (source, incident) => {
      incidents = incidents.then(() => reportConnectorIncident(platform, source, incident))
        .catch((error: unknown) => log('error', `source "${source}": recording what its connector saw failed: ${(error as Error).message} (${incident.message})`));
    },
  });
  // Connector states become health conditions (`connector:<source>`), in `serve` and `worker` alike:
  // the states of the connectors this process runs (it is their active runner), and its standbys' view.
  const connectorHealth = connectorHealthWatch(platform);
  const unowned = connectorUnownedWatch(platform);
  const connectors = () => runtime.status().flatMap((s) => (s.connector ? [s.connector] : []));
  const runners = () => runtime.status().flatMap((s) => (s.runner ? [{ source: s.source, runner: s.runner }] : []));
  metrics?.addScrapeSource(async () => ({
    sluice_connector_runner_active: runners().map(({ source, runner }) => ({ labels: { source }, value: runner.role === 'active' ? 1 : 0 })),
  }));
  /** The connectors' last states before a clean stop: the process beats for them until `stopped` says they stopped. */
  let stopping: ConnectorStatus[] | undefined;
  let observing: Promise<void> | undefined;
  const watchConnectors = setInterval(() => {
    observing ??= connectorHealth.observe(stopping ?? connectors())
      .then(() => (stopping === undefined ? unowned.observe(runners()) : undefined))
      .catch((error: unknown) => log('error', `recording connector health failed (retrying): ${(error as Error).message}`))
      .finally(() => (observing = undefined));
  }, CONNECTOR_HEALTH_EVERY_MS);
  watchConnectors.unref();
  return {
    runtime,
    describe: () => ({ sources: runtime.status(), freshness: freshness.summary(), rebuilding: runtime.rebuilds.pending() }),
    async close() {
      clearInterval(follow);
      await incidents;
      const last = connectors();
      stopping = last;
      // However long the runtime takes to close, it still beats: a clean stop is never taken for a lost process.
      await runtime.close();
      clearInterval(watchConnectors);
      await observing;
      // No process may be left running these connectors: say so, with what each last was.
      await connectorHealth.stopped(last).catch((error: unknown) => log('error', `recording the connectors' stop failed: ${(error as Error).message}`));
    },
  };
}

/**
 * How often `sluice serve` and `sluice worker` flush the online store: its stream tables replay
 * from the durable log, so a commit need not wait for the disk (see docs/real-time.md).
 */
export const ONLINE_FLUSH_EVERY_MS = 1_000;

/** `worker`: connectors and lake commits without the HTTP server (`status` is in status-commands.ts). */
export function registerStreamCommands(program: Command, run: CommandContext): void {
  program
    .command('worker')
    .option('--no-scheduler', "do not run the project's schedules in this process (they run by default when it has some, or declares retention)")
    .description("run the project's connectors and move streamed events into the online store and the lake, and run its schedules (as sluice scheduler does; --no-scheduler: not), without serving HTTP; the start line names the schedules it runs")
    .action((options: { scheduler: boolean }) =>
      run.withPlatform(async ({ platform, out, projectDir }) => {
        await authorizeCliProcess(platform);
        const logger = configureLogging({ level: logLevelFromEnv() });
        const log = (level: 'info' | 'warn' | 'error', message: string) => logger[level](message);
        const realTime = await startRealTime(platform, log);
        const monitoring = startMonitoring(platform, { log });
        const scheduler = await startProjectScheduler(platform, projectDir, options.scheduler, log).catch(async (error: unknown) => {
          await monitoring.stop();
          await realTime.close();
          throw error;
        });
        const stopped = untilStopped(platform, 'worker');
        const sources = realTime.runtime.status();
        const running = sources.map((s) => s.source);
        // Per connector: this process runs it (active) or stands by for the process that does.
        const connectors = Object.fromEntries(sources.flatMap((s) => (s.runner ? [[s.source, s.runner.role]] : [])));
        const standby = sources.filter((s) => s.runner?.role === 'standby').map((s) => `${s.source} (held by ${s.runner!.holder ? `pid ${s.runner!.holder.pid} on ${s.runner!.holder.host}` : 'nobody yet'})`);
        const { schedules, note } = schedulesRunHere(await platform.project(), options.scheduler);
        out.result({ running, connectors, schedules }, () => `worker running the connectors and lake commits of ${running.join(', ') || 'no stream sources'}${standby.length === 0 ? '' : `; standing by for the connectors of ${standby.join(', ')}`}; ${note} (Ctrl-C to stop)`);
        await closeAfter(stopped, async (why) => {
          await monitoring.stop();
          await scheduler?.stop(why);
          await realTime.close();
        });
      }, { onlineFlushEveryMs: ONLINE_FLUSH_EVERY_MS }),
    );
}
