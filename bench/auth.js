// `node bench/auth.js` (after `npm run build`): online serving with authentication, authorization
// and the audit of every access on, against auth off, in the same run, over copies of one store.
// Options:  --events N (200_000)  --entities N (10_000)  --seconds S (5, per load)  --rounds N (3)
// Two `sluice serve` processes: "off" (no key, no access rule: open on loopback) and "on" (an API
// key, access rules, every request authenticated, authorized per feature and audited through the
// group-committed buffer). Each is driven in turn by autocannon at 1 connection (latency p50/p99)
// and 16 connections (throughput), 1 and 100 entities per request, the order rotated each round;
// medians of the rounds. Also the audit records written per request (must be 1: nothing lost).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/load-project.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { materialize } from '../dist/processing/materialize.js';
import { openPlatform } from '../dist/platform.js';
import { createApiKey } from '../dist/compliance/access/api-keys.js';
import { BENCH_CONFIG } from './bench-project.js';
import { generateBenchData } from './generate.js';
import { load, startChild } from './serving.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const events = opt('events', 200_000);
const entities = opt('entities', 10_000);
const seconds = opt('seconds', 5);
const rounds = opt('rounds', 3);
const log = (line) => process.stderr.write(`${line}\n`);
const ACCESS_CONFIG = BENCH_CONFIG
  .replace("from 'sluice';", "from 'sluice';\nimport { allow, deny } from 'sluice';")
  .replace("featureServices: [featureService({ name: 'all', features: [txnStats, profile] })] });",
    "featureServices: [featureService({ name: 'all', features: [txnStats, profile] })],\n  access: [allow({ role: 'model', read: ['all'] }), deny({ role: 'analyst', read: ['profile:country'] }), allow({ role: 'ops', admin: ['status'] })] });");

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-auth-'));
mkdirSync(join(dir, 'data'), { recursive: true });
writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
const commit = { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
const servers = [];
try {
  const project = await loadProject(dir);
  const platform = openPlatform({ projectDir: dir });
  await platform.metadata.recordRegistry(project);
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const files = await generateBenchData(await platform.engine(), { dir: join(dir, 'data'), events, entities, spineRows: 1, end });
  await ingestFile(platform, project, 'transactions', files.transactions);
  await ingestFile(platform, project, 'customers', files.customers);
  log('materializing...');
  await materialize(platform, project);
  await platform.close();
  const modes = [{ name: 'off' }, { name: 'on' }];
  for (const [i, mode] of modes.entries()) {
    mode.dir = join(dir, mode.name);
    cpSync(join(dir, '.sluice'), join(mode.dir, '.sluice'), { recursive: true });
    writeFileSync(join(mode.dir, 'sluice.config.ts'), mode.name === 'on' ? ACCESS_CONFIG : BENCH_CONFIG);
    mode.headers = {};
    if (mode.name === 'on') {
      // The access rules are outside the value hash: the materialized tables keep serving.
      const copy = openPlatform({ projectDir: mode.dir });
      await copy.metadata.recordRegistry(await loadProject(mode.dir));
      const { token } = await createApiKey(copy.metadata, { principal: 'bench-model', roles: ['model'] }, { name: 'cli:bench', roles: ['local-operator'], origin: 'local' }, Date.now());
      await copy.close();
      mode.headers = { authorization: `Bearer ${token}` };
    }
    const port = 6721 + i;
    mode.url = `http://127.0.0.1:${port}/v1/features/online`;
    mode.server = await startChild([join(here, '..', 'bin', 'sluice.js'), 'serve', '--project', mode.dir, '--port', String(port), '--log-level', 'warn', '--no-scheduler'], 'serving on');
    servers.push(mode.server);
  }
  const auditCount = async (mode) => {
    const p = openPlatform({ projectDir: mode.dir });
    try {
      return (await p.metadata.audit.head())?.seq ?? 0;
    } finally {
      await p.close();
    }
  };
  const keys = (n, offset) => Array.from({ length: n }, (_, i) => `c${String((offset + i * 7919) % entities).padStart(7, '0')}`);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = {};
  let requestsOn = 0;
  const auditBefore = await auditCount(modes[1]);
  for (const count of [1, 100]) {
    const body = { service: 'all', entities: { customer_id: keys(count, 17) } };
    const runs = Object.fromEntries(modes.map((m) => [m.name, { latency: [], load: [] }]));
    for (const m of modes) {
      const warm = await load(m.server, m.url, body, 4, 1, m.headers);
      if (m.name === 'on') requestsOn += warm.requests;
    }
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < modes.length; k++) {
        const m = modes[(round + k) % modes.length];
        const latency = await load(m.server, m.url, body, 1, seconds, m.headers);
        const loaded = await load(m.server, m.url, body, 16, seconds, m.headers);
        if (m.name === 'on') requestsOn += latency.requests + loaded.requests;
        runs[m.name].latency.push(latency);
        runs[m.name].load.push(loaded);
        log(`${count} entities, auth ${m.name}: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms (1 connection); ${loaded.requestsPerSecond} req/s, ${loaded.cpuMsPerRequest} ms CPU/request (16)`);
      }
    }
    const summary = Object.fromEntries(modes.map((m) => [m.name, {
      p50Ms: median(runs[m.name].latency.map((r) => r.p50Ms)), p99Ms: median(runs[m.name].latency.map((r) => r.p99Ms)),
      requestsPerSecond: median(runs[m.name].load.map((r) => r.requestsPerSecond)), cpuMsPerRequest: median(runs[m.name].load.map((r) => r.cpuMsPerRequest)),
    }]));
    results[`entities${count}`] = {
      ...summary,
      throughputRatio: Number((summary.on.requestsPerSecond / summary.off.requestsPerSecond).toFixed(3)),
      cpuRatio: Number((summary.off.cpuMsPerRequest / summary.on.cpuMsPerRequest).toFixed(3)),
    };
  }
  // Stop the "on" server (it flushes its audit buffer on SIGTERM), then count its records.
  await new Promise((resolve) => {
    modes[1].server.once('exit', resolve);
    modes[1].server.kill('SIGTERM');
  });
  const audited = (await auditCount(modes[1])) - auditBefore;
  process.stdout.write(`${JSON.stringify({ commit, at: new Date().toISOString(), events, entities, seconds, rounds, ...results, audit: { requests: requestsOn, records: audited } }, null, 2)}\n`);
} finally {
  await Promise.all(servers.map((s) => new Promise((resolve) => {
    if (s.exitCode !== null || s.signalCode !== null) return resolve();
    s.once('exit', resolve);
    s.kill('SIGTERM');
  })));
  rmSync(dir, { recursive: true, force: true });
}
