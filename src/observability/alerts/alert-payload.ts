import { createHash } from 'node:crypto';
import type { AlertRecord } from '../../storage/metadata/health-store.js';

/** The JSON body of one webhook alert (documented in docs/alerts-and-status.md). */
export interface AlertPayload {
  /** `firing` for a condition that fired or escalated, `resolved` once it cleared. */
  readonly status: 'firing' | 'resolved';
  readonly transition: AlertRecord['transition'];
  readonly kind: string;
  readonly subject: string;
  readonly severity: 'warn' | 'error';
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** ISO-8601 UTC: when the condition started firing. */
  readonly since: string;
  /** ISO-8601 UTC: when it cleared; null while firing. */
  readonly resolvedAt: string | null;
  /** ISO-8601 UTC: when the transition was recorded. */
  readonly at: string;
  readonly project: string;
  /** The same for every delivery of this transition (retries, restarts): receivers de-duplicate on it. */
  readonly alertId: string;
}

/**
 * The de-duplication key of an alert: a hash of what identifies its transition (condition,
 * transition, when it started firing and when it cleared), so a retry, or a delivery by another
 * process after a restart, carries the same id.
 *
 * @example
 * alertId('fraud', alert); // 'a1b2c3...' (32 hex digits)
 */
export function alertId(project: string, alert: AlertRecord): string {
  const c = alert.condition;
  return createHash('sha256').update([project, c.kind, c.subject, alert.transition, c.since, c.resolvedAt ?? ''].join('\u0000')).digest('hex').slice(0, 32);
}

/** The webhook body of an alert of `project`. */
export function alertPayload(project: string, alert: AlertRecord): AlertPayload {
  const c = alert.condition;
  return {
    status: alert.transition === 'resolved' ? 'resolved' : 'firing', transition: alert.transition,
    kind: c.kind, subject: c.subject, severity: c.severity, message: c.message, details: c.details ?? {},
    since: new Date(c.since).toISOString(), resolvedAt: c.resolvedAt === null ? null : new Date(c.resolvedAt).toISOString(),
    at: new Date(alert.createdAt).toISOString(), project, alertId: alertId(project, alert),
  };
}
