import { setImmediate as nextTurn } from 'node:timers/promises';
import { resolveFeatures, type Project } from '../../definitions/index.js';
import { ConflictError, ValidationError } from '../../errors.js';
import type { OnlineStore } from '../../storage/online/online-store.js';
import type { LatestSnapshots } from '../latest-snapshots.js';
import { entityKeyColumns } from '../entity-key-columns.js';
import { getOnlineFeatures, type OnlineFeaturesOptions, type OnlineFeaturesRequest, type OnlineFeaturesResponse } from '../online-features.js';

/** Entities evaluated between two turns of the event loop. */
export const ROWS_PER_SLICE = 256;

/** The number of entities a request asks for: the longest value list in `entities`. */
export function entityCount(request: OnlineFeaturesRequest): number {
  let n = 0;
  for (const key of Object.keys(request.entities)) {
    const values = request.entities[key];
    if (Array.isArray(values) && values.length > n) n = values.length;
  }
  return n;
}

/** Refuses a request with more entities than the server allows, naming the cap and the option. */
export function checkEntityCap(request: OnlineFeaturesRequest, maxEntities: number): void {
  const n = entityCount(request);
  if (n > maxEntities) {
    throw new ValidationError('REQUEST_TOO_LARGE', `request has ${n} entities; at most ${maxEntities} per request: split it, or raise the cap with "sluice serve --max-entities N"`);
  }
}

function slice(request: OnlineFeaturesRequest, from: number, to: number): OnlineFeaturesRequest {
  const cut = (values: Readonly<Record<string, unknown>>) => Object.fromEntries(Object.entries(values).map(([key, v]) => [key, Array.isArray(v) ? v.slice(from, to) : v]));
  return { ...request, entities: cut(request.entities), ...(request.request === undefined ? {} : { request: cut(request.request) }) };
}

async function generations(store: OnlineStore, views: readonly string[]): Promise<string> {
  const infos = await Promise.all(views.map((view) => store.viewInfo(view)));
  return infos.map((info) => `${info?.generation ?? '-'}@${info?.materializedAt ?? '-'}`).join(',');
}

/**
 * `getOnlineFeatures` for large requests without blocking the event loop: rows are evaluated
 * in slices of {@link ROWS_PER_SLICE}, yielding between slices, at one `now`. If a view's online
 * table is replaced while the slices run, the request starts again (rows from two tables never
 * mix); after three tries it fails with CONFLICT.
 */
export async function getOnlineFeaturesSliced(project: Project, store: OnlineStore, request: OnlineFeaturesRequest, now: number, latest: LatestSnapshots, options: OnlineFeaturesOptions = {}): Promise<OnlineFeaturesResponse> {
  const total = entityCount(request);
  if (total <= ROWS_PER_SLICE) return getOnlineFeatures(project, store, request, now, latest, options);
  const resolved = resolveFeatures(project, request);
  // Composite keys: the key arrays must agree in length over the whole request, not slice by slice.
  entityKeyColumns(request, resolved.joinKeys);
  // Request values too: each must have one value per entity of the whole request.
  const fields = new Set(resolved.requests.flatMap((r) => Object.keys(r.view.request)));
  const short = [...fields].find((f) => Array.isArray(request.request?.[f]) && (request.request[f] as unknown[]).length !== total);
  if (short !== undefined) throw new ValidationError('BAD_REQUEST', `request.${short} must be an array of ${total} value(s), one per entity (it has ${(request.request![short] as unknown[]).length})`);
  const views = resolved.byView.map((selection) => selection.view.name);
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await generations(store, views);
    const first = await getOnlineFeatures(project, store, slice(request, 0, ROWS_PER_SLICE), now, latest, options);
    const rows = [...first.rows];
    const metadata = [...first.metadata];
    let stale = first.stale;
    let errors = first.errors;
    for (let from = ROWS_PER_SLICE; from < total; from += ROWS_PER_SLICE) {
      await nextTurn();
      const part = await getOnlineFeatures(project, store, slice(request, from, from + ROWS_PER_SLICE), now, latest, options);
      rows.push(...part.rows);
      metadata.push(...part.metadata);
      stale += part.stale;
      if (part.errors !== undefined) errors = (errors ?? 0) + part.errors;
    }
    if ((await generations(store, views)) === before) return { ...first, rows, metadata, stale, ...(errors === undefined ? {} : { errors }) };
  }
  throw new ConflictError('CONFLICT', 'the online tables changed three times while this request was answered; retry it');
}
