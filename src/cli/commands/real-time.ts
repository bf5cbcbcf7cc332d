import type { Command } from 'commander';
import type { Project } from '../../definitions/index.js';
import { CONNECTORS } from '../../ingest/connectors/index.js';
import type { Platform } from '../../platform.js';
import type { AppendOutcome, ConnectorStatus } from '../../ingest/connectors/connector.js';
import type { SluiceMetrics } from '../../observability/metrics.js';
import { FreshnessHistogram } from '../../streaming/freshness.js';
import { startStreamRuntime, type StreamRuntime } from '../../streaming/stream-runtime.js';
import { connectorHealthWatch, reportConnectorIncident, startMonitoring, streamSchemaWatch } from '../../observability/status/index.js';
import { configureLogging, logLevelFromEnv } from '../../observability/log.js';
import type { CommandContext } from './command-context.js';
import { schedulesRunHere, startProjectScheduler } from './orchestration-commands.js';
import { authorizeCliProcess } from '../../compliance/access/cli-principal.js';
import { closeAfter, untilStopped } from '../interrupt.js';

export interface RealTime {
  readonly runtime: StreamRuntime;
  /** What `GET /v1/streams` answers: sources, connectors, freshness. */
  describe(): unknown;
  close(): Promise<void>;
}

/** How often the connectors' states are turned into health conditions. */
const CONNECTOR_HEALTH_EVERY_MS = 1_000;

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
  const runtime = await startStreamRuntime(platform, { project: () => project, connectors: CONNECTORS, log, ...(memoryBudget === undefined ? {} : { memoryBudget }), onVisible: (view, ack, visible) => {
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
  // Connector states become health conditions (`connector:<source>`), in `serve` and `worker` alike.
  const connectorHealth = connectorHealthWatch(platform);
  const connectors = () => runtime.status().flatMap((s) => (s.connector ? [s.connector] : []));
  /** The connectors' last states before a clean stop: the process beats for them until `stopped` says they stopped. */
  let stopping: ConnectorStatus[] | undefined;
  let observing: Promise<void> | undefined;
  const watchConnectors = setInterval(() => {
    observing ??= connectorHealth.observe(stopping ?? connectors())
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
        const running = realTime.runtime.status().map((s) => s.source);
        const { schedules, note } = schedulesRunHere(await platform.project(), options.scheduler);
        out.result({ running, schedules }, () => `worker running the connectors and lake commits of ${running.join(', ') || 'no stream sources'}; ${note} (Ctrl-C to stop)`);
        await closeAfter(stopped, async (why) => {
          await monitoring.stop();
          await scheduler?.stop(why);
          await realTime.close();
        });
      }, { onlineFlushEveryMs: ONLINE_FLUSH_EVERY_MS }),
    );
}
