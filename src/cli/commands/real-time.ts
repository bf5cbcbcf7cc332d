import type { Command } from 'commander';
import { isStreamed, type Project } from '../../definitions/index.js';
import { CONNECTORS } from '../../ingest/connectors/index.js';
import type { Platform } from '../../platform.js';
import type { AppendOutcome } from '../../ingest/connectors/connector.js';
import type { SluiceMetrics } from '../../observability/metrics.js';
import { FreshnessHistogram } from '../../streaming/freshness.js';
import { streamStatus } from '../../streaming/stream-status.js';
import { startStreamRuntime, type StreamRuntime } from '../../streaming/stream-runtime.js';
import { evaluateFreshness } from '../../observability/freshness-status.js';
import { formatDuration } from '../../time/index.js';
import { EXIT_UNHEALTHY } from '../exit.js';
import { configureLogging, logLevelFromEnv } from '../../observability/log.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

export interface RealTime {
  readonly runtime: StreamRuntime;
  /** What `GET /v1/streams` answers: sources, connectors, freshness. */
  describe(): unknown;
  close(): Promise<void>;
}

/** Resolves on SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/**
 * Starts the stream runtime over the applied registry (followed as it changes), with every
 * connector Sluice has and a freshness histogram.
 */
export async function startRealTime(platform: Platform, log: (level: 'info' | 'warn' | 'error', message: string) => void, metrics?: SluiceMetrics): Promise<RealTime> {
  let project: Project = await platform.project();
  const follow = setInterval(() => {
    platform.metadata.latestRegistry().then((latest) => {
      if (latest) project = latest.project;
    }, (error: unknown) => log('error', `registry refresh failed (retrying): ${(error as Error).message}`));
  }, 1_000);
  follow.unref();
  const freshness = new FreshnessHistogram();
  const runtime = await startStreamRuntime(platform, { project: () => project, connectors: CONNECTORS, log, onVisible: (view, ack, visible) => {
      freshness.observe(view, ack, visible);
      metrics?.recordVisible(view, ack, visible);
    },
    ...(metrics ? { onAppended: (source: string, origin: string, outcome: AppendOutcome) => metrics.recordAppend(source, origin, outcome) } : {}),
  });
  return {
    runtime,
    describe: () => ({ sources: runtime.status(), freshness: freshness.summary() }),
    async close() {
      clearInterval(follow);
      await runtime.close();
    },
  };
}

/** `worker` (connectors and lake commits without the HTTP server) and `status` (where every stream stands). */
export function registerStreamCommands(program: Command, run: CommandContext): void {
  program
    .command('worker')
    .description("run the project's connectors and move streamed events into the online store and the lake, without serving HTTP")
    .action(() =>
      run.withPlatform(async ({ platform, out }) => {
        const logger = configureLogging({ level: logLevelFromEnv() });
        const realTime = await startRealTime(platform, (level, message) => logger[level](message));
        const signalled = untilSignal();
        out.result({ running: realTime.runtime.status().map((s) => s.source) }, () => `worker running for ${realTime.runtime.status().map((s) => s.source).join(', ') || 'no stream sources'} (Ctrl-C to stop)`);
        await signalled;
        await realTime.close();
      }),
    );
  program
    .command('status')
    .alias('streams')
    .description(`freshness of every source and view (against its SLA), and each stream and CDC source: log offset, lake lag, events/s, connector position, online lag per view; exits ${EXIT_UNHEALTHY} when something is stale`)
    .action(() =>
      run.withPlatform(async ({ platform, out }) => {
        const project = await platform.project();
        const online = await platform.online();
        const freshness = await evaluateFreshness(project, { metadata: platform.metadata, online, log: () => platform.log(), now: platform.now() });
        const streams = project.sources.some(isStreamed) ? await streamStatus(project, await platform.log(), online, platform.now()) : [];
        const stale = freshness.filter((f) => f.stale);
        out.result({ healthy: stale.length === 0, freshness, streams }, () => [
          table(['kind', 'name', 'sla', 'data at', 'lag', 'status'], freshness.map((f) => [
            f.kind, f.name, f.slaSeconds === null ? '-' : formatDuration(f.slaSeconds * 1000), f.dataAt ?? '-', f.lagSeconds === null ? '-' : `${Math.round(f.lagSeconds)}s`,
            f.stale ? 'STALE' : f.slaSeconds === null ? '-' : 'fresh',
          ])),
          ...stale.map((f) => `${f.kind} "${f.name}" is STALE: ${f.reason}`),
          streams.length === 0
            ? 'No stream or CDC sources.'
            : table(['source', 'kind', 'offset', 'lake lag', 'last ack', 'events/s', 'connector', 'online lag'], streams.map((r) => [
              r.source, r.kind, r.offset, r.lakeLag, r.lastAckAt ?? '-', r.eventsPerSecond, r.connectorPosition ?? '-',
              Object.entries(r.views).map(([v, lag]) => `${v}:${lag ?? 'none'}`).join(' '),
            ])),
        ].join('\n'));
        if (stale.length > 0) process.exitCode = EXIT_UNHEALTHY;
      }),
    );
}
