/**
 * Health conditions: the one place where "something is wrong" is recorded, by whoever detects
 * it (a failed or hung job, a failed check, a stale view, drift, skew, a schema change), and
 * read by `sluice status`, `/metrics` and the alert dispatcher.
 *
 * A condition is identified by `(kind, subject)`, e.g. `('check_failed', 'source:payments/amount_not_null')`.
 * Reporting it repeatedly while it stays firing changes nothing but its message, details and
 * `updatedAt`; only a transition (not firing -> firing, firing -> cleared, or a change of
 * severity while firing) is an alert, written to the alert outbox in the same transaction as
 * the condition. So alerts are de-duplicated by construction, a cleared condition gets exactly
 * one `resolved` alert, and no alert is lost if the process dies before delivering it.
 */
export type ConditionSeverity = 'warn' | 'error';

export interface ConditionReport {
  /** What kind of problem: `job_failed`, `job_hung`, `check_failed`, `stale`, `drift`, `skew`, `schema_changed`, ... */
  readonly kind: string;
  /** What it is about, stable across reports: `job:materialize:fraud_v1`, `view:account_stats`, ... */
  readonly subject: string;
  readonly firing: boolean;
  readonly severity: ConditionSeverity;
  /** One line a person can act on. */
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Condition extends ConditionReport {
  /** When it last started firing (epoch ms). */
  readonly since: number;
  readonly updatedAt: number;
  /** When it last cleared; null while firing or never cleared. */
  readonly resolvedAt: number | null;
}

export type ConditionTransition = 'fired' | 'resolved' | 'escalated' | 'unchanged';

/** A condition's next state, computed from its stored one (see `HealthStore.update`). */
export type ConditionUpdate = (current: Condition | undefined) => Omit<ConditionReport, 'kind' | 'subject'> | undefined;

/** One alert to deliver: a transition of a condition. */
export interface AlertRecord {
  readonly id: number;
  readonly transition: Exclude<ConditionTransition, 'unchanged'>;
  readonly condition: Condition;
  readonly createdAt: number;
  readonly attempts: number;
  /** Epoch ms before which the next delivery is not tried. */
  readonly nextAttemptAt: number;
  readonly deliveredAt: number | null;
  readonly lastError: string | null;
}

/**
 * Semantics every implementation keeps:
 * - `report` is atomic: the condition and, on a transition, its alert are stored together.
 * - `update` reads and reports in one transaction: no other report falls between them.
 * - A condition never reported, or reported only as not firing, makes no alert.
 * - `pendingAlerts` returns undelivered alerts due at `now`, oldest first; `markAlert` records a
 *   delivery attempt (delivered, or failed with the next attempt time).
 */
export interface HealthStore {
  report(report: ConditionReport, at: number): Promise<{ transition: ConditionTransition; condition: Condition }>;
  /**
   * Reads the condition `(kind, subject)` (undefined: never reported) and reports what `next`
   * makes of it (undefined: nothing changes), in one transaction: the way to change a condition
   * from what it says (parts several processes add to it, a count summed over reports, an end
   * that holds only while the condition is still what was seen), since a `list` then a `report`
   * lets another process's report fall between them and be lost. `next` runs inside the store's
   * transaction: synchronous and quick. Undefined when `next` changed nothing.
   *
   * @example
   * await store.update('data_lost', 'connector:payments', (c) => ({ ...lost, details: { lostSequences: Number(c?.details?.lostSequences ?? 0) + 5 } }), now);
   */
  update(kind: string, subject: string, next: ConditionUpdate, at: number): Promise<{ transition: ConditionTransition; condition: Condition } | undefined>;
  /** Conditions, firing first then newest; `firing: true` for only the firing ones; `kind` to filter. */
  list(filter?: { firing?: boolean; kind?: string }): Promise<Condition[]>;
  pendingAlerts(now: number, limit: number): Promise<AlertRecord[]>;
  markAlert(id: number, outcome: { delivered: true; at: number } | { delivered: false; error: string; nextAttemptAt: number }): Promise<void>;
  /** Alerts, newest first (delivered or not). */
  listAlerts(limit: number): Promise<AlertRecord[]>;
}
