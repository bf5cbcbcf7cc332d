// Where a 100-entity request's CPU goes, without a profiler's overhead (a CPU profile at 100 µs
// inflates the request ~1.5x, and the most its small functions): CPU of the online store's reads
// (`store.read`: LMDB's gets, the copy into a chunk, the decode; in all and per view), of the rest of
// `getOnlineFeatures` (window evaluation, answer assembly) and of `answerBytes`, per request, for
// one build. The reads are timed around the store's synchronous part (a read's promise settles
// after the other view's read began, so awaiting it would count both).
//   taskset -c 1 node bench/serving-request-split.js [--checkout DIR (this one)] [--dir DATA (bench/.work)]
//     [--entities 100] [--requests 3000] [--rounds 4] [--out FILE]
// Read-only on DIR's store.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { keySetBodies, openCheckoutRequest } from './lib/checkout-request.js';
import { benchCommit, median } from './lib/server-comparison.js';
import { option } from './serving.js';

const checkout = resolve(option('checkout', join(import.meta.dirname, '..')));
const dir = resolve(option('dir', join(import.meta.dirname, '.work')));
const count = Number(option('entities', 100));
const requests = Number(option('requests', 3000));
const rounds = Number(option('rounds', 4));

const { platform, entities, parts } = await openCheckoutRequest(checkout, dir);
const { project, store, latest, getOnlineFeatures, answerBytes } = parts;
const cpuUs = (since) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};
let readsUs = 0;
const viewReadsUs = new Map();
const timed = {
  ...store,
  read: (view, keys) => {
    const cpu = process.cpuUsage();
    const read = store.read(view, keys);
    const us = cpuUs(cpu);
    readsUs += us;
    viewReadsUs.set(view, (viewReadsUs.get(view) ?? 0) + us);
    return read;
  },
};
const bodies = keySetBodies(64, count, entities);
const perRound = [];
for (let round = -1; round < rounds; round++) {
  readsUs = 0;
  viewReadsUs.clear();
  let featuresUs = 0;
  let bytesUs = 0;
  for (let i = 0; i < requests; i++) {
    const cpu = process.cpuUsage();
    const answer = await getOnlineFeatures(project, timed, bodies[i % bodies.length], Date.now(), latest);
    const between = process.cpuUsage();
    answerBytes(answer);
    bytesUs += cpuUs(between);
    featuresUs += cpuUs(cpu) - cpuUs(between);
  }
  // Round -1 warms the process up (compilation, the store's pages).
  if (round < 0) continue;
  const us = (total) => Number((total / requests).toFixed(1));
  const byView = Object.fromEntries([...viewReadsUs].map(([view, total]) => [view, us(total)]));
  perRound.push({ round, readsUs: us(readsUs), readsUsByView: byView, evaluationAndAssemblyUs: us(featuresUs - readsUs), answerBytesUs: us(bytesUs), load1: loadavg()[0] });
  process.stderr.write(`${JSON.stringify(perRound.at(-1))}\n`);
}
await platform.close();
const field = (name) => Number(median(perRound.map((r) => r[name])).toFixed(1));
const summary = {
  command: process.argv.slice(1).join(' '), at: new Date().toISOString(), commit: benchCommit(checkout), entities: count, requests,
  medianUsPerRequest: {
    reads: field('readsUs'),
    readsByView: Object.fromEntries(Object.keys(perRound[0].readsUsByView).map((view) => [view, Number(median(perRound.map((r) => r.readsUsByView[view])).toFixed(1))])),
    evaluationAndAssembly: field('evaluationAndAssemblyUs'), answerBytes: field('answerBytesUs') },
  load: field('load1'), perRound,
};
const out = option('out', undefined);
if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`${JSON.stringify({ medianUsPerRequest: summary.medianUsPerRequest, load: summary.load })}\n`);
