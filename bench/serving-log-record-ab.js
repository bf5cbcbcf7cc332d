// `node bench/serving-log-record-ab.js --baseline CHECKOUT` (after `npm run build` in both): the
// serving log's `record` alone, this build's against another's (a checkout with a built `dist/`),
// in one process, alternating build by build in every round (the order swapped each round), so
// both see the same moments of a shared machine. The 100-entity answer of `bench/serving-log-cpu.js`
// as `answerBytes`' bytes, every row logged (rate 1.0), request ids as UUIDs, flushed every
// `--flush-every` requests (79: the server's 250 ms timer at ~300 req/s); CPU time of the process
// per request (user and system), flushes included. Options: --requests N (1500 per build and
// round) --rounds N (12) --entities N (100) --flush-every N (79). Reports medians, ranges and
// every round, the paired ratio this/baseline per round, and the log's bytes per request. A build
// with `dist/serving/http/value-ends.js` (2026-12-01 (18) on) gets the answer's value ends with its
// bytes, as the route hands them over. --mode record (the default: the answer's bytes made once,
// `record` per request) | on (per request the answer's bytes made as the route makes them with the
// log on, value ends included, then `record`) | off (per request the answer's bytes as the route
// makes them with the log off, no `record`): on minus off is the log's cost, the answer writer's
// share included.
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate } from 'node:timers';
import { logBenchAnswer } from './lib/log-bench-answer.js';
import { abBuilds, benchCommit, benchOptions, median } from './lib/server-comparison.js';

const { requests, rounds, entities, 'flush-every': flushEvery } = benchOptions({ requests: 1500, rounds: 12, entities: 100, 'flush-every': 79 });
const modeAt = process.argv.indexOf('--mode');
const mode = modeAt < 0 ? 'record' : process.argv[modeAt + 1];
if (!['record', 'on', 'off'].includes(mode)) throw new Error('--mode is record, on or off');
const { checkouts, root } = abBuilds('sluice-bench-record-ab-');
try {
  const builds = {};
  for (const [name, checkout] of Object.entries(checkouts)) {
    const { loadProject } = await import(join(checkout, 'dist/config/load-project.js'));
    const { servingLogWriter } = await import(join(checkout, 'dist/observability/serving-log/serving-log-writer.js'));
    const { answerBytes } = await import(join(checkout, 'dist/serving/http/answer-bytes.js'));
    const endsModule = join(checkout, 'dist/serving/http/value-ends.js');
    const ends = existsSync(endsModule) ? new (await import(endsModule)).RowValueEnds() : undefined;
    const project = await loadProject(root);
    const { service, response, request } = logBenchAnswer(project, entities);
    const dataDir = join(root, name);
    builds[name] = { project, service, response, request, answerBytes, answer: answerBytes(response, undefined, ends), ends, dataDir, log: servingLogWriter({ dataDir, defaultRate: 1, maxBufferedRows: 1e9 }), cpu: [], system: [] };
  }
  const ids = Array.from({ length: requests }, () => randomUUID());
  const run = async (build) => {
    const start = process.cpuUsage();
    for (let i = 0; i < requests; i++) {
      if (mode === 'record') build.log.record(build.project, build.request, build.response, ids[i], Date.now(), build.answer, build.ends);
      else if (mode === 'off') build.answer = build.answerBytes(build.response);
      else build.log.record(build.project, build.request, build.response, ids[i], Date.now(), (build.answer = build.answerBytes(build.response, undefined, build.ends)), build.ends);
      if (i % flushEvery === flushEvery - 1) await build.log.flush();
      else if (i % 10 === 9) await new Promise((done) => setImmediate(done));
    }
    await build.log.flush();
    const used = process.cpuUsage(start);
    build.cpu.push((used.user + used.system) / requests);
    build.system.push(used.system / requests);
  };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['baseline', 'this'] : ['this', 'baseline'];
    for (const name of order) await run(builds[name]);
  }
  const summary = (values, digits = 1) => {
    const round = (v) => Number(v.toFixed(digits));
    return { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)), perRound: values.map(round) };
  };
  const result = {};
  for (const [name, build] of Object.entries(builds)) {
    await build.log.close();
    const dir = join(build.dataDir, 'serving-log', build.service.name);
    const bytes = !existsSync(dir) ? 0 : readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
    result[name] = { commit: benchCommit(checkouts[name]), valueEnds: build.ends !== undefined, recordUsPerRequest: summary(build.cpu), systemUsPerRequest: summary(build.system), logBytesPerRequest: Math.round(bytes / (requests * rounds)) };
  }
  result.pairedThisOverBaseline = summary(builds.this.cpu.map((v, i) => v / builds.baseline.cpu[i]), 3);
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), mode, entities, requests, rounds, flushEvery, ...result }, null, 2)}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
