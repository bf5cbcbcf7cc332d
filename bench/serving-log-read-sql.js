// `node bench/serving-log-read-sql.js --baseline CHECKOUT` (after `npm run build` in both): the cost of
// reading the serving log set-based in DuckDB, as drift's served profile does (`servedRowsSql`, four
// features' values and statuses, a `servedAt` range), over the log this build writes against the log
// the baseline build writes for the same answers (each read by its own build's `servedRowsSql`), in one
// process, alternating round by round (the order swapped each round). The log: `--requests N` (3000)
// answers of the bench service's 100 rows (`bench/lib/log-bench-answer.js`), every row logged. CPU of
// the process per read (DuckDB's threads included) and wall time; files' bytes. Options: --requests N
// --rounds N (8) --threads N (2: DuckDB's threads).
import { randomUUID } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { logBenchAnswer } from './lib/log-bench-answer.js';
import { abBuilds, benchCommit, benchOptions, median } from './lib/server-comparison.js';

const { requests, rounds, threads } = benchOptions({ requests: 3000, rounds: 8, threads: 2 });
const { checkouts, root } = abBuilds('sluice-bench-read-sql-');
try {
  const builds = {};
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (const [name, checkout] of Object.entries(checkouts)) {
    const dist = (path) => import(join(checkout, 'dist', path));
    const { loadProject } = await dist('config/load-project.js');
    const { servingLogWriter } = await dist('observability/serving-log/serving-log-writer.js');
    const { answerBytes } = await dist('serving/http/answer-bytes.js');
    const sql = await dist('observability/serving-log/read-serving-log.js');
    const { duckDbEngine } = await dist('storage/engine/duckdb-engine.js');
    const project = await loadProject(root);
    const { response, request } = logBenchAnswer(project, 100);
    const dataDir = join(root, name);
    const log = servingLogWriter({ dataDir, defaultRate: 1, maxBufferedRows: 1e9 });
    const answer = answerBytes(response);
    for (let i = 0; i < requests; i++) {
      log.record(project, request, response, randomUUID(), start + i, answer);
      if (i % 79 === 78) await log.flush();
    }
    await log.close();
    const files = await sql.servingLogFiles(dataDir);
    const features = response.features.filter((f) => !f.includes('10m')).slice(0, 4);
    const servedAt = sql.servedAtSql ?? `TRY_CAST(json_extract(json, '$.servedAt') AS BIGINT)`;
    const columns = features.map((f, i) => `${sql.servedValueSql(f)} AS v${i}, ${sql.servedStatusSql(f)} AS s${i}`).join(', ');
    const aggregates = features.map((_f, i) => `count(v${i}), count(DISTINCT s${i})`).join(', ');
    const query = `SELECT count(*) AS n, ${aggregates} FROM (SELECT ${columns} FROM ${sql.servedRowsSql(files)} WHERE ${servedAt} >= ${start} AND ${servedAt} < ${start + requests})`;
    const engine = await duckDbEngine({ threads });
    builds[name] = { engine, query, bytes: files.reduce((sum, f) => sum + statSync(f).size, 0), cpu: [], wall: [], rows: undefined };
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? ['baseline', 'this'] : ['this', 'baseline']) {
      const build = builds[name];
      const cpu = process.cpuUsage();
      const wall = performance.now();
      const [result] = await build.engine.all(build.query);
      build.wall.push(performance.now() - wall);
      const used = process.cpuUsage(cpu);
      build.cpu.push((used.user + used.system) / 1000);
      build.rows = Number(result.n);
    }
  }
  const summary = (values, digits = 0) => {
    const r = (v) => Number(v.toFixed(digits));
    return { median: r(median(values)), min: r(Math.min(...values)), max: r(Math.max(...values)), perRound: values.map(r) };
  };
  const result = {};
  for (const [name, build] of Object.entries(builds)) {
    result[name] = { commit: benchCommit(checkouts[name]), rows: build.rows, logBytes: build.bytes, cpuMsPerRead: summary(build.cpu), wallMsPerRead: summary(build.wall) };
    await build.engine.close?.();
  }
  if (builds.this.rows !== builds.baseline.rows) throw new Error(`the builds read ${builds.this.rows} and ${builds.baseline.rows} rows`);
  result.pairedCpuThisOverBaseline = summary(builds.this.cpu.map((v, i) => v / builds.baseline.cpu[i]), 3);
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), requests, rounds, threads, ...result }, null, 2)}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
