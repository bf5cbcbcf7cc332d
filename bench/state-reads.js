// Where reading a 100-entity request's states goes, in process (no HTTP): lmdb-js's get alone
// (its native copy into lmdb-js's reused buffer), the get and the copy into an arena (what the
// store's reader adds), the get, copy and decode, and the get of one key over and over (the
// same work on pages already in the CPU's caches). Both views of the bench's service, 64 key
// sets of 100 customers, rounds interleaved. Read-only on DIR's store.
//   node bench/state-reads.js [--dir DATA (bench/.work)] [--rounds 3] [--requests 3000]
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { openPlatform } from '../dist/platform.js';
import { decodeEntityState } from '../dist/storage/online/lmdb/entity-state-codec.js';
import { option } from './serving.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = option('dir', join(here, '.work'));
const rounds = Number(option('rounds', 3));
const requests = Number(option('requests', 3000));

const platform = openPlatform({ projectDir: dir });
const store = await platform.online();
const generations = await Promise.all(['txn', 'profile'].map(async (view) => (await store.viewInfo(view)).generation));
const entities = (await store.viewInfo('txn')).entityCount;
await platform.close();
const db = open({ path: join(dir, '.sluice', 'online'), compression: false, encoder: { moreTypes: true }, readOnly: true });
const keySets = Array.from({ length: 64 }, (_, b) => Array.from({ length: 100 }, (_, i) => `c${String((b * 104729 + i * 7919) % entities).padStart(7, '0')}`));
const arena = new Uint8Array(1 << 20);
/** The stored value without its msgpack bin header. */
const valueOf = (stored) => stored.subarray(stored[0] === 0xc4 ? 2 : stored[0] === 0xc5 ? 3 : 5, stored.length);
let bytes = 0;
/** Each state's value copied into the arena at a multiple of 8 (as the store's reader does), and decoded there if `decode`. */
function copyInto(keys, decode) {
  let at = 0;
  for (const g of generations)
    for (const key of keys) {
      const value = valueOf(db.getBinaryFast([g, key]));
      arena.set(value, at);
      if (decode) decodeEntityState(arena.subarray(at, at + value.length));
      at = (at + value.length + 7) & ~7;
    }
}
const modes = {
  get: (keys) => {
    for (const g of generations) for (const key of keys) bytes += db.getBinaryFast([g, key]).length;
  },
  getCopy: (keys) => copyInto(keys, false),
  getCopyDecode: (keys) => copyInto(keys, true),
  sameKey: (keys) => {
    for (const g of generations) for (let i = 0; i < keys.length; i++) db.getBinaryFast([g, keys[0]]);
  },
};
const results = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, read] of Object.entries(modes)) {
    for (let i = 0; i < 200; i++) read(keySets[i % 64]);
    const cpu = process.cpuUsage();
    for (let i = 0; i < requests; i++) read(keySets[i % 64]);
    const used = process.cpuUsage(cpu);
    results[name].push(Number(((used.user + used.system) / requests).toFixed(1)));
  }
}
db.close();
process.stdout.write(`${JSON.stringify({ microsecondsPerRequest: results, statesPerRequest: 200, meanStateBytes: Math.round(bytes / (rounds * (requests + 200) * 200)) })}\n`);
