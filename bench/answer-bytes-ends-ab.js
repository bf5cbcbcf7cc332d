// `node bench/answer-bytes-ends-ab.js --baseline CHECKOUT` (after `npm run build` in both): what
// recording the rows' value ends for the serving log costs the answer writer, in one process:
// `answerBytes` of the bench service's 100-entity answer as the baseline build makes it, as this
// build makes it without ends (the log off) and with them (the log on), alternating in every round
// (the order reversed each other round), CPU per answer. Options: --rounds N (20) --answers N (500,
// per case and round) --entities N (100). Reports medians (first two rounds dropped) and the paired
// ratios per round.
import { join } from 'node:path';
import { abBuilds, benchCommit, benchOptions, median } from './lib/server-comparison.js';
import { logBenchAnswer } from './lib/log-bench-answer.js';

const { rounds, answers, entities } = benchOptions({ rounds: 20, answers: 500, entities: 100 });
const { checkouts, root } = abBuilds('sluice-bench-answer-ends-');
const { loadProject } = await import(join(checkouts.this, 'dist/config/load-project.js'));
const { response } = logBenchAnswer(await loadProject(root), entities);
const baseBytes = (await import(join(checkouts.baseline, 'dist/serving/http/answer-bytes.js'))).answerBytes;
const thisBytes = (await import(join(checkouts.this, 'dist/serving/http/answer-bytes.js'))).answerBytes;
const { RowValueEnds } = await import(join(checkouts.this, 'dist/serving/http/value-ends.js'));
const ends = new RowValueEnds();
const cases = { baseline: () => baseBytes(response), thisOff: () => thisBytes(response), thisOn: () => thisBytes(response, undefined, ends) };
const us = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? Object.keys(cases) : Object.keys(cases).reverse();
  for (const name of order) {
    const start = process.cpuUsage();
    for (let i = 0; i < answers; i++) cases[name]();
    const used = process.cpuUsage(start);
    us[name].push((used.user + used.system) / answers);
  }
}
const kept = (name) => us[name].slice(2);
const paired = (a, b) => Number(median(kept(a).map((v, i) => v / kept(b)[i])).toFixed(3));
const result = {
  at: new Date().toISOString(), entities, rounds, answers, commit: benchCommit(), baseline: benchCommit(checkouts.baseline),
  usPerAnswer: Object.fromEntries(Object.keys(cases).map((name) => [name, Number(median(kept(name)).toFixed(1))])),
  paired: { thisOffOverBaseline: paired('thisOff', 'baseline'), thisOnOverBaseline: paired('thisOn', 'baseline'), thisOnOverThisOff: paired('thisOn', 'thisOff') },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
