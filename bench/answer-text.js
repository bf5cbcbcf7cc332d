// The small answer's text: `stringifyExact` (the reply serializer's) against `answerJson` (the route's),
// each with `Buffer.byteLength` as the HTTP layer adds it, over 1-entity answers of many different
// entities (one entity asked again and again would flatter any code that writes numbers with
// `String`: V8 caches number strings), interleaved round by round, in one process.
//   node bench/answer-text.js [--dir DIR (bench/.work)] [--entities 2000] [--calls 100000] [--rounds 6]
import { Buffer } from 'node:buffer';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPlatform } from '../dist/platform.js';
import { latestSnapshots } from '../dist/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../dist/serving/online-features.js';
import { stringifyExact } from '../dist/serving/exact-json.js';
import { answerJson } from '../dist/serving/http/answer-json.js';
import { option } from './serving.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = option('dir', join(here, '.work'));
const count = Number(option('entities', 2000));
const calls = Number(option('calls', 100_000));
const rounds = Number(option('rounds', 6));

const platform = openPlatform({ projectDir: dir });
const project = (await platform.metadata.latestRegistry()).project;
const latest = await latestSnapshots(platform.metadata, project);
const store = await platform.online();
const entities = (await store.viewInfo('txn')).entityCount;
const answers = [];
for (let i = 0; i < count; i++) {
  const key = `c${String((17 + i * 7919) % entities).padStart(7, '0')}`;
  answers.push(await getOnlineFeatures(project, store, { service: 'all', entities: { customer_id: [key] } }, Date.now(), latest));
}
await platform.close();
const differ = answers.filter((a) => answerJson(a).text !== stringifyExact(a)).length;
if (differ > 0) throw new Error(`${differ} answers differ`);
/** CPU microseconds per call. */
const timed = (write) => {
  const cpu = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < calls; i++) bytes += Buffer.byteLength(write(answers[i % count]));
  const used = process.cpuUsage(cpu);
  if (bytes === 0) throw new Error('no bytes');
  return Number(((used.user + used.system) / calls).toFixed(2));
};
const results = { entities: count, calls, rounds: [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ['stringifyExact', 'answerJson'] : ['answerJson', 'stringifyExact'];
  const line = {};
  for (const name of order) line[name] = timed(name === 'stringifyExact' ? stringifyExact : (a) => answerJson(a).text);
  results.rounds.push(line);
  process.stderr.write(`${JSON.stringify(line)}\n`);
}
process.stdout.write(`${JSON.stringify(results)}\n`);
