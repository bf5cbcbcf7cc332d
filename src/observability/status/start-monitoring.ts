import type { SluiceContext } from '../../context.js';
import { startAlertDispatcher, startPeriodic, type AlertDispatcherOptions } from '../alerts/index.js';
import type { SluiceMetrics } from '../metrics.js';
import { reportErasureStatus } from '../../compliance/erasure/erasure-status.js';
import { clearRemovedConditions } from './clear-removed-conditions.js';
import { reportFreshness } from './report-freshness.js';
import { reportLostConnectors } from './connector-beats.js';

export interface MonitoringOptions {
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Counts alert deliveries (`sluice_alerts_total`) when given. */
  readonly metrics?: SluiceMetrics;
  /** How often freshness is evaluated and reported; default 5 s. */
  readonly freshnessIntervalMs?: number;
  /** How often the alert outbox is drained; default 1 s. */
  readonly alertIntervalMs?: number;
  readonly alerts?: Omit<AlertDispatcherOptions, 'log' | 'onOutcome'>;
}

/** The loops of a long-running process; `stop` ends them after the round in progress. */
export interface Monitoring {
  stop(): Promise<void>;
}

/**
 * The health loops every long-running process runs (`sluice serve`, `sluice worker`, `sluice
 * scheduler`): continuous freshness (each source's and view's SLA evaluated and its `stale`
 * condition reported, see `reportFreshness`; conditions of removed checks, features and sources
 * cleared, see `clearRemovedConditions`; connectors whose process died fire `connector_lost`, see
 * `reportLostConnectors`) and the alert dispatcher (the outbox delivered to
 * the project's webhooks, see `alertDispatcher`). Each process may run them: the dispatcher
 * holds a lease, and reporting the same condition twice changes nothing.
 *
 * @example
 * const monitoring = startMonitoring(platform, { log: (level, message) => logger[level](message), metrics });
 * await monitoring.stop();
 */
export function startMonitoring(ctx: SluiceContext, options: MonitoringOptions): Monitoring {
  const freshness = startPeriodic('freshness monitor', options.freshnessIntervalMs ?? 5_000, async () => {
    const applied = await ctx.metadata.latestRegistry();
    if (applied) {
      await reportFreshness(ctx, applied.project);
      await clearRemovedConditions(ctx, applied.project);
    }
    await reportErasureStatus(ctx);
    await reportLostConnectors(ctx);
  }, options.log);
  const alerts = startAlertDispatcher(ctx.metadata, {
    ...options.alerts, intervalMs: options.alertIntervalMs ?? 1_000, log: options.log,
    ...(options.metrics ? { onOutcome: (transition, outcome) => options.metrics!.recordAlert(transition, outcome) } : {}),
  });
  return {
    async stop() {
      await freshness.stop();
      await alerts.stop();
    },
  };
}
