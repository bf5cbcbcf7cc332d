// A whole online request of two builds (A, e.g. main, and B, a change) in one process, alternating
// in short slices: `getOnlineFeatures` then `answerBytes` (what the route does for a large answer,
// without HTTP), CPU per request of each, paired per round. Both sides see the same machine at the
// same moments, so on a loaded machine the ratio holds where separate processes (see
// serving-allocation.js) scatter. Each build opens the store itself (its own reads and decode).
// Checks the two builds answer the same bytes for every key set first.
//   taskset -c 1 node bench/serving-request-ab.js --a CHECKOUT_A --b CHECKOUT_B [--dir DATA (bench/.work)]
//     [--entities 100] [--key-sets 64] [--rounds 6] [--slices 20] [--calls 10] [--out FILE]
// `--key-sets 1`: the one key set the HTTP benches send (offset 17), every request the same entities.
// Read-only on DIR's store.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { benchCommit, benchKeys, median } from './lib/server-comparison.js';
import { abCheckouts, option } from './serving.js';
import { keySetBodies, openCheckoutRequest } from './lib/checkout-request.js';

const { checkouts, dir } = abCheckouts();
const count = Number(option('entities', 100));
const keySets = Number(option('key-sets', 64));
const rounds = Number(option('rounds', 6));
const slices = Number(option('slices', 20));
const calls = Number(option('calls', 10));
const now = Date.now();

async function build(checkout) {
  const { platform, entities, request } = await openCheckoutRequest(checkout, dir);
  // 64 different key sets by default, as a server sees different entities request by request (serving-allocation.js's).
  const bodies = keySets === 1 ? [{ service: 'all', entities: { customer_id: benchKeys(count, 17, entities) } }] : keySetBodies(keySets, count, entities);
  const serve = async (i) => request(bodies[i % bodies.length], now);
  return { platform, serve, bodies };
}

const builds = { A: await build(checkouts.A), B: await build(checkouts.B) };
for (let i = 0; i < keySets; i++) {
  const [a, b] = [await builds.A.serve(i), await builds.B.serve(i)];
  if (!a.equals(b)) throw new Error(`A and B answered different bytes for key set ${i}`);
}
let next = 0;
const slice = async (name) => {
  const { serve } = builds[name];
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) await serve(next++);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
};
for (let i = 0; i < 20; i++) for (const name of ['A', 'B']) await slice(name);
const perRound = [];
for (let round = 0; round < rounds; round++) {
  const ms = { A: 0, B: 0 };
  for (let s = 0; s < slices; s++) for (const name of s % 2 === 0 ? ['A', 'B'] : ['B', 'A']) ms[name] += await slice(name);
  const run = { round, aMs: ms.A / (slices * calls), bMs: ms.B / (slices * calls), load1: loadavg()[0] };
  perRound.push(run);
  process.stderr.write(`${JSON.stringify(run)}\n`);
}
await builds.A.platform.close();
await builds.B.platform.close();
const range = (xs) => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`;
const summary = {
  commits: { A: benchCommit(checkouts.A), B: benchCommit(checkouts.B) }, entities: count, keySets,
  aMsPerRequest: range(perRound.map((r) => r.aMs)), bMsPerRequest: range(perRound.map((r) => r.bMs)),
  pairedBOverA: range(perRound.map((r) => r.bMs / r.aMs)), load: range(perRound.map((r) => r.load1)),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
const out = option('out', undefined);
if (out) writeFileSync(out, `${JSON.stringify({ command: process.argv.slice(1).join(' '), at: new Date().toISOString(), checkouts, perRound, summary }, null, 2)}\n`);
