// What a 100-entity request's LMDB reads cost, apart from the rest of the request: per request
// (100 entities, one get per served view and entity, as `StateReader.read` does: `getBinaryFast`,
// then the copy into a chunk), CPU of the gets over different entities request by request (64 key
// sets, as serving-allocation.js asks), over the same entities every request (one key set, as the
// HTTP benches ask: their pages stay cached) and of the key encoding alone. `--page-sizes`: the store's entries are also copied, byte
// for byte and in key order, into fresh environments of those page sizes (in `--tmp`), and each
// is timed the same way, in alternating slices: whether pages without overflow values (16 KiB
// and up hold a state inline) make a get cheaper. Between requests 1 MiB of other memory is
// written, as a request's evaluation and answer do to the caches.
//   taskset -c 1 node bench/online-gets.js [--dir DATA (bench/.work)] [--entities 100]
//     [--page-sizes 4096,16384,32768] [--tmp DIR (os tmpdir)] [--rounds 6] [--out FILE]
// Read-only on DIR's store; removes the copies when done.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { open } from 'lmdb';
import { keySetBodies } from './lib/checkout-request.js';
import { benchCommit, median } from './lib/server-comparison.js';
import { option } from './serving.js';

const dir = resolve(option('dir', join(import.meta.dirname, '.work')));
const count = Number(option('entities', 100));
const pageSizes = String(option('page-sizes', '')).split(',').filter(Boolean).map(Number);
const rounds = Number(option('rounds', 6));
const requestsPerSlice = 100;
const online = join(dir, '.sluice', 'online');
// The store's bookkeeping keys (see lmdb-online-store.ts): a served view's record names its generation.
const SERVED = '\u0000served';

const opened = [];
const openStore = (path, label) => {
  const db = open({ path, compression: false, encoder: { moreTypes: true }, readOnly: true });
  const generations = ['txn', 'profile'].map((view) => db.get([SERVED, view])?.generation).filter((g) => g !== undefined);
  const stats = db.getStats();
  const store = { label, path, db, generations, pageSize: stats.pageSize, treeDepth: stats.treeDepth, leafPages: stats.treeLeafPageCount, overflowPages: stats.overflowPages };
  opened.push(store);
  return store;
};

const scratch = mkdtempSync(join(option('tmp', tmpdir()), 'sluice-online-gets-'));
const stores = [openStore(online, 'store')];
for (const pageSize of pageSizes) {
  const path = join(scratch, String(pageSize));
  const source = open({ path: online, keyEncoding: 'binary', encoding: 'binary', compression: false, readOnly: true });
  const copy = open({ path, keyEncoding: 'binary', encoding: 'binary', compression: false, pageSize, mapSize: 16 * 1024 ** 3, noSync: true });
  await copy.transaction(() => {
    for (const { key, value } of source.getRange({})) copy.putSync(key, value);
  });
  await copy.close();
  await source.close();
  stores.push(openStore(path, `copy ${pageSize}`));
}

const entityCount = stores[0].db.get([SERVED, 'txn']).entityCount;
const keySets = keySetBodies(64, count, entityCount).map((body) => body.entities.customer_id);
const chunk = new Uint8Array(4 * 1024 * 1024);
const other = new Uint8Array(1024 * 1024);
const keyBytes = new Uint8Array(1024);

const request = (store, keys) => {
  let at = 0;
  for (const generation of store.generations) {
    for (const key of keys) {
      const stored = store.db.getBinaryFast([generation, key]);
      if (stored === undefined) continue;
      chunk.set(stored.subarray(0, stored.length), at);
      at = (at + stored.length + 7) & ~7;
    }
  }
};
const kinds = {
  keySets64: (store, i) => request(store, keySets[i % keySets.length]),
  sameKeySet: (store) => request(store, keySets[0]),
  keyEncodingOnly: (store, i) => {
    for (const generation of store.generations) for (const key of keySets[i % keySets.length]) store.db.writeKey([generation, key], keyBytes, 0);
  },
};
const slice = (store, kind, from) => {
  const cpu = process.cpuUsage();
  for (let i = 0; i < requestsPerSlice; i++) {
    kinds[kind](store, from + i);
    other.fill(i & 0xff);
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / requestsPerSlice;
};
// The other memory's writes alone, taken off every slice.
const fillOnly = () => {
  const cpu = process.cpuUsage();
  for (let i = 0; i < requestsPerSlice; i++) other.fill(i & 0xff);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / requestsPerSlice;
};

let next = 0;
for (const store of stores) for (const kind of Object.keys(kinds)) slice(store, kind, (next += requestsPerSlice));
const perRound = [];
for (let round = 0; round < rounds; round++) {
  const us = {};
  for (let s = 0; s < stores.length; s++) {
    const store = stores[(s + round) % stores.length];
    for (const kind of Object.keys(kinds)) us[`${store.label} ${kind}`] = slice(store, kind, (next += requestsPerSlice)) - fillOnly();
  }
  perRound.push({ round, usPerRequest: us, load1: loadavg()[0] });
  process.stderr.write(`${JSON.stringify(perRound.at(-1))}\n`);
}
for (const store of opened) await store.db.close();
rmSync(scratch, { recursive: true, force: true });

const summary = {
  command: process.argv.slice(1).join(' '), at: new Date().toISOString(), commit: benchCommit(), entities: count,
  getsPerRequest: count * stores[0].generations.length,
  stores: stores.map(({ label, pageSize, treeDepth, leafPages, overflowPages }) => ({ label, pageSize, treeDepth, leafPages, overflowPages })),
  medianUsPerRequest: Object.fromEntries(Object.keys(perRound[0].usPerRequest).map((k) => [k, Number(median(perRound.map((r) => r.usPerRequest[k])).toFixed(1))])),
  load: median(perRound.map((r) => r.load1)), perRound,
};
const out = option('out', undefined);
if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`${JSON.stringify({ stores: summary.stores, medianUsPerRequest: summary.medianUsPerRequest, load: summary.load }, null, 2)}\n`);
