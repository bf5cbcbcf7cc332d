import { setImmediate as nextTurn } from 'node:timers/promises';
import { resolveFeatures, type Project } from '../../definitions/index.js';
import { ConflictError, ValidationError } from '../../errors.js';
import type { OnlineStore } from '../../storage/online/online-store.js';
import type { LatestSnapshots } from '../latest-snapshots.js';
import { entityKeyColumns, getOnlineFeatures, type OnlineFeaturesRequest, type OnlineFeaturesResponse } from '../online-features.js';

/** Entities evaluated between two turns of the event loop. */
export const ROWS_PER_SLICE = 256;

/** The number of entities a request asks for: the longest value list in `entities`. */
export function entityCount(request: OnlineFeaturesRequest): number {
  return Object.values(request.entities).reduce<number>((n, values) => Math.max(n, Array.isArray(values) ? values.length : 0), 0);
}

/** Refuses a request with more entities than the server allows, naming the cap and the option. */
export function checkEntityCap(request: OnlineFeaturesRequest, maxEntities: number): void {
  const n = entityCount(request);
  if (n > maxEntities) {
    throw new ValidationError('REQUEST_TOO_LARGE', `request has ${n} entities; at most ${maxEntities} per request: split it, or raise the cap with "sluice serve --max-entities N"`);
  }
}

function slice(request: OnlineFeaturesRequest, from: number, to: number): OnlineFeaturesRequest {
  const entities = Object.fromEntries(Object.entries(request.entities).map(([key, values]) => [key, Array.isArray(values) ? values.slice(from, to) : values]));
  return { ...request, entities };
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
export async function getOnlineFeaturesSliced(project: Project, store: OnlineStore, request: OnlineFeaturesRequest, now: number, latest: LatestSnapshots): Promise<OnlineFeaturesResponse> {
  const total = entityCount(request);
  if (total <= ROWS_PER_SLICE) return getOnlineFeatures(project, store, request, now, latest);
  const resolved = resolveFeatures(project, request);
  // Composite keys: the key arrays must agree in length over the whole request, not slice by slice.
  entityKeyColumns(request, resolved.joinKeys);
  const views = resolved.byView.map((selection) => selection.view.name);
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await generations(store, views);
    const first = await getOnlineFeatures(project, store, slice(request, 0, ROWS_PER_SLICE), now, latest);
    const rows = [...first.rows];
    const metadata = [...first.metadata];
    let stale = first.stale;
    for (let from = ROWS_PER_SLICE; from < total; from += ROWS_PER_SLICE) {
      await nextTurn();
      const part = await getOnlineFeatures(project, store, slice(request, from, from + ROWS_PER_SLICE), now, latest);
      rows.push(...part.rows);
      metadata.push(...part.metadata);
      stale += part.stale;
    }
    if ((await generations(store, views)) === before) return { ...first, rows, metadata, stale };
  }
  throw new ConflictError('CONFLICT', 'the online tables changed three times while this request was answered; retry it');
}
