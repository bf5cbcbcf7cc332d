import type { DatasetSpec } from './operation-types.js';
import type { FeatureServiceSpec, FeatureViewSpec, RequestViewSpec, SourceSpec, SqlTransformSpec } from './types.js';

/*
 * Access policies as the user declares them (`allow(...)`, `deny(...)` in `defineProject({ access })`)
 * and as the registry stores them. A policy changes no value, so it is outside every value hash.
 */

/**
 * Administrative actions a rule can grant or deny. `status` covers `GET /v1/registry`, `/v1/streams`
 * and `/metrics` (and the CLI's status, runs, alerts, checks); `quarantine` releasing or dropping a
 * held batch; `gc` removing unreferenced lake files; `serve` running the platform's long-lived
 * processes (`sluice serve`, `worker`, `scheduler`: the project's connectors and schedules).
 */
export const ADMIN_ACTIONS = ['apply', 'erase', 'retention', 'keys', 'audit', 'status', 'quarantine', 'gc', 'serve'] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/**
 * The role every local operator (the CLI without `SLUICE_API_KEY`) holds. The effective policy
 * allows it everything; a `deny` rule for it still wins (see docs/compliance-access.md).
 */
export const LOCAL_OPERATOR_ROLE = 'local-operator';

/** What a rule names: a feature service, a (feature or request) view, or a name (`"fraud_v1"`, `"txn_stats"`, `"txn_stats:amount"`). */
export type ReadTarget = FeatureServiceSpec | FeatureViewSpec | RequestViewSpec | string;

/** One rule as the user writes it (see `allow` and `deny`). */
export interface AccessRuleSpec {
  readonly kind: 'accessRule';
  readonly effect: 'allow' | 'deny';
  /** The role the rule applies to; a principal holds the rights of each of its roles. */
  readonly role: string;
  /** Features readable online (`/v1/features/online`, `sluice get`): services and views (all their features) or `"view:feature"`; `true` for all. */
  readonly read?: readonly ReadTarget[] | true;
  /** Stream and CDC sources events may be pushed to (`POST /v1/push/<source>`); `true` for all. */
  readonly push?: readonly (SourceSpec | string)[] | true;
  /** Training datasets may be built. */
  readonly datasets?: boolean;
  /** Administrative actions (see `ADMIN_ACTIONS`); `true` for all. */
  readonly admin?: readonly AdminAction[] | true;
  /** Jobs that may be run (`sluice run`, the scheduler): job names (`dataset:train`) or the view, transform, source or dataset a job acts on; `true` for all. */
  readonly run?: readonly (string | FeatureViewSpec | SourceSpec | SqlTransformSpec | DatasetSpec)[] | true;
}

/** A validated rule: services and views expanded to their `view:feature` names; `"*"` stands for all. */
export interface AccessRule {
  readonly effect: 'allow' | 'deny';
  readonly role: string;
  readonly read?: readonly string[];
  readonly push?: readonly string[];
  readonly datasets?: true;
  readonly admin?: readonly string[];
  readonly run?: readonly string[];
}
