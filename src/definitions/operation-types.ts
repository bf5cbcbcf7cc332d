import type { FeatureServiceSpec, FeatureViewSpec, Setting, SourceSpec, SqlTransformSpec } from './types.js';

/*
 * The operational parts of a project's definitions: where alerts go, when jobs run and which
 * datasets it builds. None of them changes a value, so none is part of any value hash.
 */

/** Condition severities an alert channel can filter on (see `HealthStore`). */
export type AlertSeverity = 'warn' | 'error';

/**
 * A webhook that receives alerts as JSON POSTs, as the user declares it (see `webhook`). Settings
 * written with `env()` are read when the dispatcher starts, never stored.
 */
export interface WebhookAlertSpec {
  readonly kind: 'webhook';
  /** Names the channel in `sluice alerts` and logs; default `webhook` (`webhook_2`, ... for more). */
  readonly name?: string;
  readonly url: Setting;
  /** Only conditions of these kinds (`job_failed`, `stale`, ...); default every kind. */
  readonly kinds?: readonly string[];
  /** Only conditions at least this severe; default `warn` (all). */
  readonly minSeverity?: AlertSeverity;
  /** Extra request headers (e.g. an authorization token through `env()`). */
  readonly headers?: Readonly<Record<string, Setting>>;
}

/** A validated alert channel, as the registry stores it (`env()` settings stay references). */
export interface AlertChannel {
  readonly kind: 'webhook';
  readonly name: string;
  readonly url: Setting;
  readonly kinds?: readonly string[];
  readonly minSeverity?: AlertSeverity;
  readonly headers?: Readonly<Record<string, Setting>>;
}

/** What `schedule` returns: when a job of the project's catalogue runs, and how it is retried and bounded. */
export interface ScheduleSpec {
  readonly kind: 'schedule';
  /** A job name (`materialize:fraud_v1`, `ingest:payments`, `transform:customer_360`) or the view, source or transform it acts on. */
  readonly job: string | FeatureViewSpec | SourceSpec | SqlTransformSpec | DatasetSpec;
  /** A cron expression (5 fields, or 6 with seconds first), read in `timezone`. */
  readonly cron?: string;
  /** An IANA time zone for `cron`, e.g. `Europe/Paris`; default UTC. */
  readonly timezone?: string;
  /** Run when this source (or transform table) commits a new snapshot. */
  readonly onNewSnapshot?: string | SourceSpec | SqlTransformSpec;
  /** Attempts after the first when a run fails; default 0. */
  readonly retries?: number;
  /** A run past this is failed (`timed out after 10m`) and its work aborted; default "1h". */
  readonly timeout?: string;
  /** Backoff between attempts: full jitter over `min(max, base * 2^(attempt - 1))`; defaults "10s" and "10m". */
  readonly backoff?: { readonly base?: string; readonly max?: string };
  /** A name for plans and logs; default `<job> <cron>` or `<job> on new snapshot of <source>`. */
  readonly name?: string;
  /**
   * Who the job runs as: a service identity whose roles the access rules and masking rules name
   * (`as: { name: 'training-pipeline', roles: ['trainer'] }`). Required once the project has
   * access rules (see docs/compliance-access.md). Outside every hash.
   */
  readonly as?: ScheduleIdentity;
}

/** The service identity a scheduled job runs as: recorded as principal `job:<name>` with these roles. */
export interface ScheduleIdentity {
  readonly name: string;
  readonly roles: readonly string[];
}

/** A validated schedule or trigger. */
export interface Schedule {
  readonly name: string;
  readonly job: string;
  readonly cron?: string;
  readonly timezone: string;
  readonly onNewSnapshot?: string;
  readonly retries: number;
  readonly timeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** The identity the job runs as (absent: the `scheduler` principal, see `schedulePrincipal`). */
  readonly as?: ScheduleIdentity;
}

/** What `dataset` returns: a training dataset the project builds as the job `dataset:<name>`. */
export interface DatasetSpec {
  readonly kind: 'dataset';
  readonly name: string;
  /** A feature service (or its name); or give `features`. */
  readonly service?: string | FeatureServiceSpec;
  /** Features as `"view:feature"`; or give `service`. */
  readonly features?: readonly string[];
  /** The spine file (CSV, JSONL or Parquet), relative to the project directory. */
  readonly spine: string;
  /** The output file (.parquet, .csv or .jsonl), relative to the project directory. */
  readonly out: string;
  /** The spine's timestamp column; default `ts`. */
  readonly timestampColumn?: string;
  /** The model the dataset trains: recorded on the dataset, a `model:<name>` node in lineage. */
  readonly model?: string;
  /** Compute each row from the events Sluice knew before its time (see `BuildDatasetOptions.asKnown`). */
  readonly asKnown?: boolean;
  /** Where the output is written (default: the project's region); builds moving data across regions need a transfer policy. */
  readonly region?: string;
}

/** A validated declared dataset: exactly one of `service` and `features`. */
export interface Dataset {
  readonly name: string;
  readonly service?: string;
  readonly features?: readonly string[];
  readonly spine: string;
  readonly out: string;
  readonly timestampColumn: string;
  readonly model?: string;
  readonly asKnown?: true;
  /** Where the output is written (absent when the project declares no region). */
  readonly region?: string;
}
