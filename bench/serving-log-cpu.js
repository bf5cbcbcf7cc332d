// `node bench/serving-log-cpu.js` (after `npm run build`): the CPU the serving log adds to one
// answered request, in process, without HTTP or load generator: the answer of the 50-feature bench
// service for 100 entities (numbers, nulls, a string; statuses PRESENT and NULL mixed) serialized
// as the route does with the log off and on at rate 1.0, then the writer's `record` over those
// bytes, its flushes included (see `modes` below; until 2026-11-29 (7) the log took the text and
// the off mode only counted its bytes). CPU time of the process (all threads) per request,
// medians of the rounds. Options: --requests N (3000) --rounds N (5) --entities N (100)
// --flush-every N: requests per flush, as the server's 250 ms timer sees them at the throughput
// `bench/serving-log.js` measures (about 5,000 req/s at 1 entity, 300 at 100): by default
// 250 ms / (0.2 ms + 0.03 ms per further entity), 1,250 at 1 entity, 79 at 100. (Before, it
// flushed every 10 requests: at 1 entity a file open, write and close per 10 answers, which the
// server does 4 times a second, was most of the cost it reported.)
// --answer bytes|text: what the route hands the log for a small answer: its UTF-8 made by the
// route (`bytes`, the route until 2026-11-29 (10)) or its text, encoded by the writer (`text`);
// either way the socket's encoding of the text is counted in both modes.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { setImmediate } from 'node:timers';
import { loadProject } from '../dist/config/load-project.js';
import { servingLogWriter } from '../dist/observability/serving-log/serving-log-writer.js';
import { answerBytes, BYTES_FROM_ELEMENTS } from '../dist/serving/http/answer-bytes.js';
import { answerJson } from '../dist/serving/http/answer-json.js';
import { stringifyExact } from '../dist/serving/exact-json.js';
import { BENCH_CONFIG } from './bench-project.js';
import { logBenchAnswer } from './lib/log-bench-answer.js';
import { benchCommit, benchOptions, median } from './lib/server-comparison.js';

const { requests, rounds, entities, 'flush-every': flushOption } = benchOptions({ requests: 3000, rounds: 5, entities: 100, 'flush-every': 0 });
const answerAt = process.argv.indexOf('--answer');
const asText = answerAt >= 0 && process.argv[answerAt + 1] === 'text';
const flushEvery = flushOption > 0 ? flushOption : Math.round(250 / (0.2 + 0.03 * (entities - 1)));
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-servinglog-cpu-'));
try {
  writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
  const project = await loadProject(dir);
  const { service, response, request } = logBenchAnswer(project, entities);
  const log = servingLogWriter({ dataDir: dir, defaultRate: 1, maxBufferedRows: 1e9 });
  let bytes = 0;
  // As the route sends an answer: more than 8 rows as `answerBytes`' bytes, logged or not (the log
  // copies its rows from them); a smaller one as text, encoded by the socket (`encoded` below), and
  // with the log on once more for the log (`--answer`). Until 2026-11-29 (8) every answer went
  // through `answerJson` here, as the route did before `answerBytes`; until 2026-11-29 (10) the
  // rate-1.0 mode counted one encoding of a small answer, not the socket's and the log's.
  const large = response.rows.length > BYTES_FROM_ELEMENTS;
  // Request ids as the HTTP route makes them (a UUID, 36 characters; until 2026-11-30 `r<i>`, which
  // understated what a line's request id costs), made before the rounds.
  const ids = Array.from({ length: requests }, () => randomUUID());
  const modes = {
    off: () => { bytes += (large ? answerBytes(response) : Buffer.from(stringifyExact(response))).length; },
    rate1: (i) => {
      const answer = large ? undefined : answerJson(response);
      const encoded = large ? answerBytes(response) : Buffer.from(answer.text);
      const given = large ? encoded : !answer.plain ? undefined : asText ? answer.text : Buffer.from(answer.text);
      log.record(project, request, response, ids[i], Date.now(), given);
      bytes += encoded.length;
    },
  };
  const cpuUs = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
  const systemUs = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(modes)) {
      const start = process.cpuUsage();
      // Flushed as the server's timer would. The event loop gets a turn every 10 requests, as it
      // does between a server's requests, so the flush the writer starts itself past 4 MiB buffered
      // runs (else its chunks are not returned to the pool and fresh ones are page-faulted in).
      for (let i = 0; i < requests; i++) {
        run(i);
        if (i % flushEvery === flushEvery - 1) await log.flush();
        else if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
      }
      await log.flush();
      const used = process.cpuUsage(start);
      cpuUs[name].push((used.user + used.system) / requests);
      systemUs[name].push(used.system / requests);
    }
  }
  await log.close();
  const logDir = join(dir, 'serving-log', service.name);
  const logBytes = readdirSync(logDir).reduce((sum, name) => sum + statSync(join(logDir, name)).size, 0);
  const off = median(cpuUs.off);
  const on = median(cpuUs.rate1);
  process.stdout.write(`${JSON.stringify({
    commit: benchCommit(), at: new Date().toISOString(), answer: asText ? 'text' : 'bytes', entities, features: response.features.length, requests, rounds, flushEvery,
    serializeUsPerRequest: { off: Number(off.toFixed(1)), rate1: Number(on.toFixed(1)) }, addedUsPerRequest: Number((on - off).toFixed(1)),
    // Of which system time (the log file's writes, page faults): the kernel's share of the added cost.
    systemUsPerRequest: { off: Number(median(systemUs.off).toFixed(1)), rate1: Number(median(systemUs.rate1).toFixed(1)) },
    answerBytes: stringifyExact(response).length, logBytesPerRequest: Math.round(logBytes / (requests * rounds)), checksum: bytes > 0,
  }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
