// `node bench/checks.js` (after `npm run build`; `npm run bench:checks` builds first): what data
// quality checks cost on batch ingest (issue 8 §2), against the same ingest without checks, in
// the same run. Options:
//   --events N (2_000_000)  --rounds N (3)  --format csv|parquet (csv)  --out FILE
// Two sources with the same schema read the same file: `plain` (no checks) and `checked` with the
// issue's six checks (notNull error, range with mostly 0.99, allowedValues, unique, rowCount,
// sqlCheck "ts <= now()"), all passing, so both commit the same rows. Ingests alternate between
// the two (every one with --force, a full ingest), and the ratio is of medians, in wall time and in
// the process's CPU time (DuckDB's threads included), which other work on a shared machine moves less.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/load-project.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { openPlatform } from '../dist/platform.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const events = Number(opt('events', 2_000_000));
const rounds = Number(opt('rounds', 3));
const format = opt('format', 'csv');
const out = opt('out', undefined);
const log = (line) => process.stderr.write(`${line}\n`);

const CONFIG = `import { defineProject, entity, batchSource, featureView, count, notNull, range, allowedValues, unique, rowCount, sqlCheck } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const schema = { txn_id: 'string', customer_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' };
const plain = batchSource({ name: 'plain', schema, timestamp: 'ts' });
const checked = batchSource({ name: 'checked', schema, timestamp: 'ts',
  checks: [notNull('amount', { severity: 'error' }), range('amount', { min: 0, mostly: 0.99 }), allowedValues('channel', ['web', 'pos', 'atm']),
    unique('txn_id'), rowCount({ min: 1 }), sqlCheck('no_future', 'ts <= now()')] });
export default defineProject({ name: 'checks', entities: [customer], sources: [plain, checked],
  featureViews: [featureView({ name: 'n', entity: customer, source: plain, features: { n: count() } })] });
`;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-checks-'));
mkdirSync(join(dir, 'data'), { recursive: true });
writeFileSync(join(dir, 'sluice.config.ts'), CONFIG);
const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
const commit = { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
const end = Math.floor(Date.now() / 60_000) * 60_000;
try {
  const project = await loadProject(dir);
  const platform = openPlatform({ projectDir: dir, now: () => end });
  await platform.metadata.recordRegistry(project);
  const file = join(dir, 'data', `transactions.${format}`);
  const u = (salt) => `(hash(i, '${salt}') % 1000000007) / 1000000007.0`;
  await (await platform.engine()).run(`COPY (
    SELECT printf('t%010d', i) AS txn_id, printf('c%07d', floor(${u('c')} * 100000)::INT) AS customer_id,
           round(exp(1 + 3 * ${u('a')}), 2) AS amount, (['web', 'pos', 'atm'])[1 + floor(${u('h')} * 3)::INT] AS channel,
           strftime(make_timestamp((${end - 30 * 86_400_000} + floor(${u('t')} * ${30 * 86_400_000})::BIGINT) * 1000), '%Y-%m-%dT%H:%M:%S.%gZ') AS ts
    FROM range(${events}) r(i)) TO '${file}' (FORMAT ${format === 'csv' ? 'CSV, HEADER' : 'PARQUET'})`);
  const wall = { plain: [], checked: [] };
  const cpu = { plain: [], checked: [] };
  for (let round = 0; round < rounds; round++) {
    for (const source of round % 2 === 0 ? ['plain', 'checked'] : ['checked', 'plain']) {
      const started = performance.now();
      const usage = process.cpuUsage();
      const result = await ingestFile(platform, project, source, file, { force: true });
      const used = process.cpuUsage(usage);
      if (result.accepted !== events) throw new Error(`${source}: ${result.accepted} of ${events} rows accepted`);
      if (source === 'checked' && result.checks.length !== 6) throw new Error(`checked: ${result.checks.length} check results, expected 6`);
      if (source === 'checked' && !result.checks.every((c) => c.passed)) throw new Error(`a check failed: ${JSON.stringify(result.checks)}`);
      wall[source].push(performance.now() - started);
      cpu[source].push((used.user + used.system) / 1000);
      log(`round ${round + 1}: ${source} ${Math.round(wall[source].at(-1))} ms wall, ${Math.round(cpu[source].at(-1))} ms CPU`);
    }
  }
  await platform.close();
  const figures = (m) => {
    const plain = median(m.plain);
    const checked = median(m.checked);
    return { plainMs: Math.round(plain), checkedMs: Math.round(checked), ratio: Number((checked / plain).toFixed(3)), addedMsPerMillionRows: Math.round(((checked - plain) / events) * 1e6) };
  };
  const result = { bench: 'checks', commit, events, format, rounds, loadAverage: loadavg().map((l) => Number(l.toFixed(2))), wall: figures(wall), cpu: figures(cpu), raw: { wall, cpu }, at: new Date().toISOString() };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
