import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Platform } from '../../platform.js';
import { erasedSubjects } from '../../compliance/erasure/erased-subjects.js';
import { servingLogHealth, type ServingLogHealth } from '../../observability/serving-log/serving-log-health.js';
import { servingLogWriter, type ServingLogWriter } from '../../observability/serving-log/serving-log-writer.js';
import { sweepGoneServers, type GoneServerSweep } from './gone-servers.js';
import { holdServerName, type ListenAddress } from './server-name.js';

export interface ServerServingLogOptions {
  /** The server's name: `serverName`, else `defaultServerName(listensOn)` (one random name per server when it listens on no fixed port). */
  readonly server: string;
  /** See `ServerOptions.serverName`. */
  readonly serverName?: string | undefined;
  /** See `ServerOptions.listensOn`. */
  readonly listensOn?: ListenAddress | undefined;
  readonly servingLogRate?: number | undefined;
  readonly servingLogBuffer?: number | undefined;
  readonly registry: Registry;
}

/**
 * A server's serving log: takes the server's name (refused when a live server holds it, see
 * `server-name.ts`), reports its drops as its own health condition `serving_log_drops` of
 * `serving_log:<name>` (sluice status, alerts), ends the conditions of servers that no longer run
 * while it holds the name (`sweepGoneServers`), and closes all of it, releasing the name, when
 * `app` closes: the close hook is added as soon as the name is held, so a start failing later
 * releases it with `app.close()`.
 *
 * @example
 * const servingLog = await startServerServingLog(app, platform, { registry: metrics.registry });
 */
export async function startServerServingLog(app: FastifyInstance, platform: Platform, options: ServerServingLogOptions): Promise<ServingLogWriter> {
  const server = options.server;
  const held = await holdServerName(platform.metadata, server, options.serverName === undefined ? options.listensOn : undefined);
  // What was started when the app closes (a start may fail half-way): closed, then the name released.
  const started: { log?: ServingLogWriter; drops?: ServingLogHealth; sweep?: GoneServerSweep } = {};
  app.addHook('onClose', async () => {
    try {
      await started.log?.close();
      await started.drops?.close();
      await started.sweep?.close();
    } finally {
      await held.release().catch((error: unknown) => app.log.error({ err: error }, `releasing the server name "${server}" failed; another server may take it over once its lease lapses (1 min)`));
    }
  });
  started.sweep = sweepGoneServers(platform.metadata, platform.now, server, { onError: (error) => app.log.error({ err: error }, 'ending the conditions of servers that no longer run failed; tried again in a minute') });
  const drops = (started.drops = servingLogHealth(platform.metadata.health, platform.now, {
    server,
    onError: (error) => app.log.error({ err: error }, 'serving log drops: reporting the health condition failed'),
  }));
  // Loaded before the first request, so no row of an erased subject is logged while it loads.
  const erased = erasedSubjects({ erasure: platform.metadata.erasure, dataDir: platform.dataDir });
  await erased.refresh();
  started.log = servingLogWriter({
    dataDir: platform.dataDir, defaultRate: options.servingLogRate ?? 0, registry: options.registry,
    ...(options.servingLogBuffer === undefined ? {} : { maxBufferedRows: options.servingLogBuffer }),
    onError: (error) => app.log.error({ err: error }, 'serving log write failed; its rows were dropped and counted'),
    onDrops: drops.onDrops,
    erased,
  });
  return started.log;
}
