// A writer of view "v" that never finishes: the online store contract kills it with SIGKILL mid-write.
/* global process, setTimeout */
import { lmdbOnlineStore } from '../../dist/storage/online/lmdb/index.js';

const store = lmdbOnlineStore({ path: process.argv[2] });
const definition = { name: 'v', entity: 'e', joinKey: 'k', source: 's', features: [{ name: 'n', fn: 'count', valueType: 'int64' }], hash: 'killed' };
async function* forever() {
  for (let i = 0; ; i++) {
    yield [`k${i}`, { horizon: 0, base: [null], ts: new Float64Array([i]), columns: [] }];
    // Give the queued writes time to commit before saying so, so the kill leaves some behind.
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, i === 1_000 ? 200 : 1));
    if (i === 1_000) process.stdout.write('writing\n');
  }
}
await store.replaceView({ definition, materializedAt: 9, horizon: 0, snapshots: {} }, forever());
