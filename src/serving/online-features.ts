import type { Project } from '../definitions/index.js';
import { resolveFeatures } from '../definitions/index.js';
import { ConflictError, ValidationError } from '../errors.js';
import { evaluateView, type ValueStatus } from '../processing/evaluate-online.js';
import type { Scalar } from '../processing/entity-state.js';
import type { OnlineStore } from '../storage/online/online-store.js';
import { toIso } from '../time/index.js';

export interface OnlineFeaturesRequest {
  /** `{ "<join key>": [values...] }`, one entity per value, answered in this order. */
  readonly entities: Record<string, unknown>;
  readonly service?: string;
  readonly features?: readonly string[];
}

export interface ValueMetadata {
  readonly status: ValueStatus;
  readonly ageMs: number | null;
}

export interface OnlineFeaturesResponse {
  /** ISO-8601 UTC with ms: the time `t` the values were evaluated at. */
  readonly asOf: string;
  readonly features: readonly string[];
  /** One object per requested entity, in request order: the join key, then `<view>__<feature>` values. */
  readonly rows: Record<string, Scalar>[];
  /** Parallel to `rows`: per feature column, its status and age. */
  readonly metadata: Record<string, ValueMetadata>[];
}

function entityKeys(request: OnlineFeaturesRequest, joinKey: string): Array<string | number> {
  const values = request.entities?.[joinKey];
  if (values === undefined) {
    const given = Object.keys(request.entities ?? {});
    throw new ValidationError('MISSING_ENTITY_KEY', `request has no entity key "${joinKey}"${given.length ? ` (got ${given.join(', ')})` : ''}; send {"entities": {"${joinKey}": [...]}}`);
  }
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' && !(typeof v === 'number' && Number.isSafeInteger(v)))) {
    throw new ValidationError('BAD_REQUEST', `entities.${joinKey} must be an array of strings or integers`);
  }
  return values as Array<string | number>;
}

/**
 * Serves features for entities "as of now" from the online store, with the same values a
 * training dataset would hold for the spine row (entity, asOf). The evaluation time is the
 * later of `now` and the views' materialization time, and is reported as `asOf`.
 *
 * @example
 * await getOnlineFeatures(project, store, { entities: { customer_id: ['c1'] }, service: 'fraud_v1' }, Date.now());
 */
export async function getOnlineFeatures(project: Project, store: OnlineStore, request: OnlineFeaturesRequest, now: number): Promise<OnlineFeaturesResponse> {
  const resolved = resolveFeatures(project, request);
  const keys = entityKeys(request, resolved.joinKey);
  const textKeys = keys.map(String);
  const reads = await Promise.all(resolved.byView.map((selection) => store.read(selection.view.name, textKeys)));
  let t = now;
  for (const [i, { info }] of reads.entries()) {
    const view = resolved.byView[i]!.view;
    if (info && info.viewHash !== view.hash) {
      throw new ConflictError('CONFLICT', `feature view "${view.name}" changed since it was materialized; run "sluice materialize"`);
    }
    if (info) t = Math.max(t, info.materializedAt);
  }
  const rows: Record<string, Scalar>[] = keys.map((key) => ({ [resolved.joinKey]: key }));
  const metadata: Record<string, ValueMetadata>[] = keys.map(() => ({}));
  for (const [i, { view, features }] of resolved.byView.entries()) {
    const states = reads[i]!.states;
    for (let r = 0; r < keys.length; r++) {
      const values = evaluateView(view, features, states[r], t);
      for (let f = 0; f < features.length; f++) {
        const feature = features[f]!;
        const column = `${view.name}__${feature.name}`;
        const { value, status, ageMs } = values[f]!;
        rows[r]![column] = feature.valueType === 'timestamp' && typeof value === 'number' ? toIso(value) : value;
        metadata[r]![column] = { status, ageMs };
      }
    }
  }
  // Columns in request order, whatever order the views were evaluated in.
  const ordered = rows.map((row) => Object.fromEntries([[resolved.joinKey, row[resolved.joinKey]!], ...resolved.columns.map((c) => [c, row[c]!])]));
  return { asOf: toIso(t), features: resolved.columns, rows: ordered, metadata };
}
