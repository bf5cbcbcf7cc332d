// `answerBytes` of two builds (A, e.g. main, and B, a change) on the same real answers, in one
// process, alternating in short slices: CPU per 100-entity answer of each, paired per round (the
// change's own cost, without the reads and the evaluation, and with both sides seeing the same
// machine at the same moments). Checks the two builds write the same bytes for every answer.
//   taskset -c 1 node bench/answer-bytes-ab.js --a CHECKOUT_A --b CHECKOUT_B [--dir DATA (bench/.work)]
//     [--entities 100] [--answers 16] [--rounds 6] [--slices 20] [--calls 50] [--out FILE]
// Read-only on DIR's store (the answers are made once by B's `getOnlineFeatures`).
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchCommit, median } from './lib/server-comparison.js';
import { abCheckouts, option } from './serving.js';

const { checkouts, dir } = abCheckouts();
const count = Number(option('entities', 100));
const answerCount = Number(option('answers', 16));
const rounds = Number(option('rounds', 6));
const slices = Number(option('slices', 20));
const calls = Number(option('calls', 50));
const dist = (checkout, path) => import(pathToFileURL(join(checkout, 'dist', path)).href);

const { openPlatform } = await dist(checkouts.B, 'platform.js');
const { latestSnapshots } = await dist(checkouts.B, 'serving/latest-snapshots.js');
const { getOnlineFeatures } = await dist(checkouts.B, 'serving/online-features.js');
const writers = { A: (await dist(checkouts.A, 'serving/http/answer-bytes.js')).answerBytes, B: (await dist(checkouts.B, 'serving/http/answer-bytes.js')).answerBytes };
const platform = openPlatform({ projectDir: dir });
const project = (await platform.metadata.latestRegistry()).project;
const latest = await latestSnapshots(platform.metadata, project);
const store = await platform.online();
const entityCount = (await store.viewInfo('txn')).entityCount;
const answers = [];
for (let b = 0; b < answerCount; b++) {
  const customers = Array.from({ length: count }, (_, i) => `c${String((b * 104729 + i * 7919) % entityCount).padStart(7, '0')}`);
  answers.push(await getOnlineFeatures(project, store, { service: 'all', entities: { customer_id: customers } }, Date.now(), latest));
}
await platform.close();
for (const answer of answers) {
  if (!writers.A(answer).equals(writers.B(answer))) throw new Error('A and B wrote different bytes for an answer');
}

const slice = (name) => {
  const write = writers[name];
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) write(answers[i % answers.length]);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
};
for (let i = 0; i < 5; i++) for (const name of ['A', 'B']) slice(name);
const perRound = [];
for (let round = 0; round < rounds; round++) {
  const ms = { A: 0, B: 0 };
  for (let s = 0; s < slices; s++) for (const name of s % 2 === 0 ? ['A', 'B'] : ['B', 'A']) ms[name] += slice(name);
  const run = { round, aMs: ms.A / (slices * calls), bMs: ms.B / (slices * calls), load1: loadavg()[0] };
  perRound.push(run);
  process.stderr.write(`${JSON.stringify(run)}\n`);
}
const range = (xs) => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`;
const summary = {
  commits: { A: benchCommit(checkouts.A), B: benchCommit(checkouts.B) },
  aMsPerAnswer: range(perRound.map((r) => r.aMs)), bMsPerAnswer: range(perRound.map((r) => r.bMs)),
  pairedBOverA: range(perRound.map((r) => r.bMs / r.aMs)), load: range(perRound.map((r) => r.load1)),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
const out = option('out', undefined);
if (out) writeFileSync(out, `${JSON.stringify({ command: process.argv.slice(1).join(' '), at: new Date().toISOString(), checkouts, entities: count, perRound, summary }, null, 2)}\n`);
