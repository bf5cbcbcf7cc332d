import { retryDelayMs } from '../../ingest/connectors/retry-delay.js';
import { withLease } from '../../orchestration/lease.js';
import { isSluiceError } from '../../errors.js';
import type { AlertRecord } from '../../storage/metadata/health-store.js';
import type { MetadataStore } from '../../storage/metadata/metadata-store.js';
import { alertPayload } from './alert-payload.js';
import { alertTargets, targetTakes, type WebhookTarget } from './alert-targets.js';
import { startPeriodic, type PeriodicTask } from './periodic-task.js';
import { postWebhook } from './post-webhook.js';

/** `nextAttemptAt` of an alert that is never tried again (refused by a receiver, or no channel takes it). */
export const NEVER = Number.MAX_SAFE_INTEGER;
/** The lease one dispatching process holds, so two processes never send the same alert at once. */
export const DISPATCH_LEASE = 'alerts:dispatch';

/** What one delivery attempt of an alert came to (the `outcome` label of `sluice_alerts_total`). */
export type AlertOutcome = 'delivered' | 'retrying' | 'failed' | 'skipped';

export interface AlertDispatcherOptions {
  /** Where `env()` settings and `SLUICE_ALERT_WEBHOOK_URL` are read; default `process.env`. */
  readonly environment?: NodeJS.ProcessEnv;
  /** The first retry's delay (doubling, with jitter, up to `maxRetryMs`); default 1 s and 5 min. */
  readonly firstRetryMs?: number;
  readonly maxRetryMs?: number;
  /** How long one POST may take; default 10 s. */
  readonly requestTimeoutMs?: number;
  readonly random?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Called for each alert an attempt settles or defers (for metrics). */
  readonly onOutcome?: (transition: AlertRecord['transition'], outcome: AlertOutcome) => void;
}

export interface DispatchSummary {
  readonly delivered: number;
  readonly retrying: number;
  readonly failed: number;
  readonly skipped: number;
  /** Left for later: not yet due, behind an earlier alert to the same channel, or past the deadline. */
  readonly waiting: number;
}

export interface AlertDispatcher {
  /** One pass over the outbox; with `deadline` (epoch ms), no POST starts after it. Skips when another process dispatches. */
  dispatch(deadline?: number): Promise<DispatchSummary>;
}

const EMPTY: DispatchSummary = { delivered: 0, retrying: 0, failed: 0, skipped: 0, waiting: 0 };

/**
 * Delivers the alert outbox (see `HealthStore`) to the project's webhooks, oldest first. Each
 * alert goes to every channel that takes its kind and severity; it is marked delivered once all
 * of them answered 2xx. A network error, timeout, 5xx, 408 or 429 is retried with exponential
 * backoff and jitter; another 4xx is recorded as failed for good. Per channel, alerts keep their
 * order: one that waits (on its backoff, or after a failure) holds back the later ones, so a
 * receiver never sees a `resolved` before its `firing`. The outbox is durable, so what a process
 * leaves undelivered is sent by the next one; `alertId` lets receivers drop repeats.
 *
 * @example
 * const summary = await alertDispatcher(platform.metadata).dispatch(Date.now() + 3_000);
 */
export function alertDispatcher(metadata: MetadataStore, options: AlertDispatcherOptions = {}): AlertDispatcher {
  // Channels an alert already reached, or refused it for good, in this process: a retry goes only to the others.
  const reached = new Map<number, Map<string, 'delivered' | string>>();
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const settle = async (alert: AlertRecord, outcome: AlertOutcome, mark: Parameters<MetadataStore['health']['markAlert']>[1]) => {
    await metadata.health.markAlert(alert.id, mark);
    if (outcome !== 'retrying') reached.delete(alert.id);
    options.onOutcome?.(alert.transition, outcome);
  };

  const pass = async (project: string, targets: readonly WebhookTarget[], deadline: number): Promise<DispatchSummary> => {
    const counts = { ...EMPTY };
    const blocked = new Set<string>();
    for (const alert of await metadata.health.pendingAlerts(NEVER - 1, 500)) {
      const wanting = targets.filter((t) => targetTakes(t, alert.condition));
      if (wanting.length === 0) {
        await settle(alert, 'skipped', { delivered: false, error: `skipped: no alert channel takes ${alert.condition.kind} alerts of severity ${alert.condition.severity}`, nextAttemptAt: NEVER });
        counts.skipped++;
        continue;
      }
      const done = reached.get(alert.id) ?? new Map<string, string>();
      reached.set(alert.id, done);
      const open = wanting.filter((t) => !done.has(t.name));
      const due = alert.attempts === 0 || alert.nextAttemptAt <= Date.now();
      const errors: string[] = [];
      for (const target of open) {
        if (!due || blocked.has(target.name) || Date.now() >= deadline) {
          blocked.add(target.name);
          continue;
        }
        const outcome = 'problem' in target.resolved
          ? { ok: false as const, retry: true, error: target.resolved.problem }
          : await postWebhook(target.resolved.url, target.resolved.headers, alertPayload(project, alert), Math.max(1, Math.min(requestTimeoutMs, deadline - Date.now())));
        if (outcome.ok) done.set(target.name, 'delivered');
        else if (!outcome.retry) done.set(target.name, `${target.where} refused it: ${outcome.error}`);
        else {
          blocked.add(target.name);
          errors.push(`${target.where}: ${outcome.error}`);
        }
      }
      const refused = [...done.values()].filter((v) => v !== 'delivered');
      if (wanting.every((t) => done.has(t.name))) {
        if (refused.length === 0) {
          await settle(alert, 'delivered', { delivered: true, at: Date.now() });
          counts.delivered++;
        } else {
          await settle(alert, 'failed', { delivered: false, error: `failed permanently: ${refused.join('; ')}`, nextAttemptAt: NEVER });
          counts.failed++;
          options.log?.('error', `alert ${alert.transition} ${alert.condition.kind} ${alert.condition.subject} failed permanently: ${refused.join('; ')}`);
        }
      } else if (errors.length > 0) {
        const nextAttemptAt = Date.now() + retryDelayMs(alert.attempts, options.random, options.firstRetryMs ?? 1_000, options.maxRetryMs ?? 300_000);
        await settle(alert, 'retrying', { delivered: false, error: errors.join('; '), nextAttemptAt });
        counts.retrying++;
        options.log?.('warn', `alert ${alert.transition} ${alert.condition.kind} ${alert.condition.subject} not delivered (${errors.join('; ')}); retrying at ${new Date(nextAttemptAt).toISOString()}`);
      } else {
        counts.waiting++;
      }
    }
    return counts;
  };

  return {
    async dispatch(deadline = NEVER) {
      const project = (await metadata.latestRegistry())?.project;
      const targets = alertTargets(project, options.environment);
      if (targets.length === 0 || (await metadata.health.pendingAlerts(NEVER - 1, 1)).length === 0) return EMPTY;
      try {
        return await withLease(metadata, DISPATCH_LEASE, { ttlMs: 30_000 }, () => pass(project?.name ?? 'sluice', targets, deadline));
      } catch (error) {
        if (isSluiceError(error) && error.code === 'CONFLICT') return EMPTY;
        throw error;
      }
    },
  };
}

/**
 * The dispatcher as a loop of a long-running process (`sluice serve`, `sluice worker`, `sluice
 * scheduler`): a pass every `intervalMs` (default 1 s).
 *
 * @example
 * const alerts = startAlertDispatcher(platform.metadata, { log });
 * await alerts.stop();
 */
export function startAlertDispatcher(metadata: MetadataStore, options: AlertDispatcherOptions & { intervalMs?: number } = {}): PeriodicTask {
  const dispatcher = alertDispatcher(metadata, options);
  return startPeriodic('alert dispatcher', options.intervalMs ?? 1_000, () => dispatcher.dispatch(), (level, message) => options.log?.(level, message));
}

/**
 * What a CLI job does as it exits: one pass with a bounded time (default 3 s), so a failed
 * `sluice ingest` alerts without a server. Best effort: what is not delivered stays in the
 * outbox for the next process. Never throws.
 *
 * @example
 * await drainAlertsAtExit(platform.metadata, { timeoutMs: 3_000 });
 */
export async function drainAlertsAtExit(metadata: MetadataStore, options: AlertDispatcherOptions & { timeoutMs?: number } = {}): Promise<DispatchSummary> {
  try {
    return await alertDispatcher(metadata, options).dispatch(Date.now() + (options.timeoutMs ?? 3_000));
  } catch (error) {
    options.log?.('warn', `alerts were not delivered at exit (${(error as Error).message}); the next sluice process delivers them`);
    return EMPTY;
  }
}
