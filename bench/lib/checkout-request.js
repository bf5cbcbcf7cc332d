// A build's whole online request over a store, loaded from that build's own `dist/`: what
// serving-allocation.js and serving-request-ab.js time (`getOnlineFeatures` then `answerBytes`).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** `n` key sets of `count` customers each, as a server sees different entities request by request. */
export function keySetBodies(n, count, entities) {
  return Array.from({ length: n }, (_, b) => ({ service: 'all', entities: { customer_id: Array.from({ length: count }, (_, i) => `c${String((b * 104729 + i * 7919) % entities).padStart(7, '0')}`) } }));
}

/**
 * Opens `dir`'s store with `checkout`'s build: `request(body, at)` answers the body's bytes as the
 * route does for a large answer; `entities` is the bench view's entity count. Also the parts
 * `request` is made of (`getOnlineFeatures`, `answerBytes` and what they read), for a bench that
 * times them one by one.
 */
export async function openCheckoutRequest(checkout, dir) {
  const dist = (path) => import(pathToFileURL(join(checkout, 'dist', path)).href);
  const { openPlatform } = await dist('platform.js');
  const { latestSnapshots } = await dist('serving/latest-snapshots.js');
  const { getOnlineFeatures } = await dist('serving/online-features.js');
  const { answerBytes } = await dist('serving/http/answer-bytes.js');
  const platform = openPlatform({ projectDir: dir });
  const project = (await platform.metadata.latestRegistry()).project;
  const latest = await latestSnapshots(platform.metadata, project);
  const store = await platform.online();
  const entities = (await store.viewInfo('txn')).entityCount;
  const request = async (body, at) => answerBytes(await getOnlineFeatures(project, store, body, at, latest));
  return { platform, entities, request, parts: { project, store, latest, getOnlineFeatures, answerBytes } };
}
