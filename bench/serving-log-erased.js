// `node bench/serving-log-erased.js` (after `npm run build`): the CPU the erasure block-list check
// adds to the serving log's `record` (review finding 7), in process: the 50-feature bench service's
// answer for 100 entities logged at rate 1.0 by three writers, paired round by round (the order
// rotated each round): `none` (no block list: the writer before the check), `empty` (a block list
// with nothing erased) and `blocked` (one subject erased, not among the served keys: every row's key
// is checked, its answer remembered after the first request). Also `uncachedUsPer100Keys`: the
// keyed hashes of 100 keys never seen (the first request naming them, or keys past the 100,000
// remembered). CPU time of the process per request, medians of the rounds, ratios against `none`.
// Options: --requests N (3000) --rounds N (7) --entities N (100) --flush-every N (79).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate } from 'node:timers';
import { loadProject } from '../dist/config/load-project.js';
import { erasedSubjects } from '../dist/compliance/erasure/erased-subjects.js';
import { erasureHash } from '../dist/compliance/erasure/erasure-hash.js';
import { projectSecret } from '../dist/compliance/project-secret.js';
import { servingLogWriter } from '../dist/observability/serving-log/serving-log-writer.js';
import { answerBytes } from '../dist/serving/http/answer-bytes.js';
import { BENCH_CONFIG } from './bench-project.js';
import { logBenchAnswer } from './lib/log-bench-answer.js';
import { benchCommit, benchOptions, median } from './lib/server-comparison.js';

const { requests, rounds, entities, 'flush-every': flushEvery } = benchOptions({ requests: 3000, rounds: 7, entities: 100, 'flush-every': 79 });
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-erased-'));
try {
  writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
  const project = await loadProject(dir);
  const { response, request } = logBenchAnswer(project, entities);
  const entity = project.entities[0].name;
  const list = (hashes) => ({ erasure: { blockListVersion: async () => hashes.length, blockList: async () => ({ version: hashes.length, hashes }) }, dataDir: dir });
  const empty = erasedSubjects(list([]));
  const blocked = erasedSubjects(list([erasureHash(projectSecret(dir), entity, 'not-served')]));
  await Promise.all([empty.refresh(), blocked.refresh()]);
  const writers = {
    none: servingLogWriter({ dataDir: join(dir, 'none'), defaultRate: 1, maxBufferedRows: 1e9 }),
    empty: servingLogWriter({ dataDir: join(dir, 'empty'), defaultRate: 1, maxBufferedRows: 1e9, erased: empty }),
    blocked: servingLogWriter({ dataDir: join(dir, 'blocked'), defaultRate: 1, maxBufferedRows: 1e9, erased: blocked }),
  };
  const ids = Array.from({ length: requests }, () => randomUUID());
  const answer = answerBytes(response);
  const cpuUs = { none: [], empty: [], blocked: [] };
  const names = Object.keys(writers);
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_n, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const log = writers[name];
      const start = process.cpuUsage();
      for (let i = 0; i < requests; i++) {
        log.record(project, request, response, ids[i], Date.now(), answer);
        if (i % flushEvery === flushEvery - 1) await log.flush();
        else if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
      }
      await log.flush();
      const used = process.cpuUsage(start);
      cpuUs[name].push((used.user + used.system) / requests);
    }
  }
  for (const log of Object.values(writers)) await log.close();
  const fresh = erasedSubjects(list([erasureHash(projectSecret(dir), entity, 'not-served')]));
  await fresh.refresh();
  const start = process.cpuUsage();
  const keys = 100 * 200;
  for (let i = 0; i < keys; i++) fresh.isErased(entity, `k${i}`);
  const used = process.cpuUsage(start);
  const none = median(cpuUs.none);
  const ratio = (name) => Number((median(cpuUs[name]) / none).toFixed(3));
  process.stdout.write(`${JSON.stringify({
    commit: benchCommit(), at: new Date().toISOString(), loadAverage: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))), entities, requests, rounds, flushEvery,
    usPerRequest: Object.fromEntries(names.map((n) => [n, Number(median(cpuUs[n]).toFixed(1))])),
    ratioToNone: { empty: ratio('empty'), blocked: ratio('blocked') },
    pairedRatios: { empty: cpuUs.empty.map((v, i) => Number((v / cpuUs.none[i]).toFixed(3))), blocked: cpuUs.blocked.map((v, i) => Number((v / cpuUs.none[i]).toFixed(3))) },
    uncachedUsPer100Keys: Number((((used.user + used.system) / keys) * 100).toFixed(1)),
  }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
