// Where a serving request's CPU time goes, without HTTP or a second process: reading the states,
// evaluating the features, serializing the answer, for 1 and 100 entities per request, over the
// store `npm run bench` (or `node bench/run.js --skip-builds --skip-serving`) left in bench/.work;
// also the columnar answer's serialization (`?format=columnar`).
//   node bench/serving-in-process.js [--dir DIR] [--seconds S (3)]
// Profile it with `node --cpu-prof bench/serving-in-process.js`.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuTimed } from './cpu-timed.js';
import { openPlatform } from '../dist/platform.js';
import { latestSnapshots } from '../dist/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../dist/serving/online-features.js';
import { stringifyExact } from '../dist/serving/exact-json.js';
import { columnarAnswer } from '../dist/serving/http/columnar-answer.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const dir = opt('dir', join(here, '.work'));
const seconds = Number(opt('seconds', 3));

const platform = openPlatform({ projectDir: dir });
const registry = await platform.metadata.latestRegistry();
const project = registry.project;
const latest = await latestSnapshots(platform.metadata, project);
const store = await platform.online();
const entities = (await store.viewInfo('txn')).entityCount;
const keys = (n, offset) => Array.from({ length: n }, (_, i) => `c${String((offset + i * 7919) % entities).padStart(7, '0')}`);

const timed = (body) => cpuTimed(body, seconds);

const results = {};
for (const count of [1, 100]) {
  const request = { service: 'all', entities: { customer_id: keys(count, 17) } };
  const response = await getOnlineFeatures(project, store, request, Date.now(), latest);
  const read = await timed(() => Promise.all(['txn', 'profile'].map((view) => store.read(view, request.entities.customer_id))));
  const answer = await timed(() => getOnlineFeatures(project, store, request, Date.now(), latest));
  const serialize = await timed(() => stringifyExact(response));
  // The opt-in columnar answer (?format=columnar): transposed from the same response, then serialized.
  const columnar = await timed(() => stringifyExact(columnarAnswer(response)));
  results[`entities${count}`] = {
    readMs: read, answerMs: answer, evaluateMs: answer - read, serializeMs: serialize, totalMs: answer + serialize, bytes: stringifyExact(response).length,
    columnarSerializeMs: columnar, columnarBytes: stringifyExact(columnarAnswer(response)).length,
  };
}
await platform.close();
process.stdout.write(`${JSON.stringify(results, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(4)) : v), 2)}\n`);
