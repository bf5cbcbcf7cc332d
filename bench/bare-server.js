// The serving baseline: a bare fastify route that reads the same LMDB store as `sluice serve`
// (the same keys, one get per view and entity, decoding each value as any reader must: a state
// in the binary layout with its decoder, one of the earlier layout with msgpack) and answers how
// many it found, computing no features. Sluice's throughput is a ratio to this.
import Fastify from 'fastify';
import { open } from 'lmdb';
import { decodeEntityState, isEncodedEntityState } from '../dist/storage/online/lmdb/entity-state-codec.js';

const [path, port, ...views] = process.argv.slice(2);
const db = open({ path, compression: false, encoder: { moreTypes: true } });
const app = Fastify({ logger: false });
/** The bare work: one get per view and entity, each value decoded; how many were found. */
const countFound = (keys) => {
  let found = 0;
  for (const view of views) {
    const info = db.get(['\u0000served', view]);
    for (const key of keys) {
      const value = db.get([info.generation, key]);
      if (value === undefined) continue;
      const state = value instanceof Uint8Array && isEncodedEntityState(value) ? decodeEntityState(value) : value;
      if (state.horizon !== undefined) found++;
    }
  }
  return found;
};
app.post('/bare', async (request) => {
  const found = countFound(request.body.entities.customer_id);
  return { found };
});
// A reference, not the baseline: the same reads, then an answer of `?bytes=N` bytes (Sluice's
// answer's size), one padded string, so that the cost of sending that many bytes is measured
// without any per-value serialization.
const padded = new Map();
app.post('/bare-sized', async (request, reply) => {
  const found = countFound(request.body.entities.customer_id);
  const bytes = Number(request.query.bytes ?? 0);
  const head = `{"found":${found},"pad":"`;
  let pad = padded.get(bytes);
  if (pad === undefined) padded.set(bytes, (pad = 'x'.repeat(Math.max(0, bytes - head.length - 2))));
  void reply.type('application/json; charset=utf-8');
  return `${head}${pad}"}`;
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.stdout.write('ready\n');
