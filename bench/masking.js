// `node bench/masking.js` (after `npm run build`): the cost of masking, on against off in the same
// run, over the same data. Two projects over copies of one data set: `off` declares no
// classification and no masking rule; `on` classifies email and phone (direct), birth (quasi) and
// diagnosis (sensitive) and has the default masks (direct hashed, sensitive null) plus a year
// rule, so an anonymous caller gets 2 hashed, 1 year and 1 null column of 6, each answer audited.
// Options:  --entities N (10_000)  --requests N (2_000, per load)  --spine N (200_000)  --rounds N (3)
// Serving: in process through the HTTP server (fastify inject), 1 and 100 entities per request,
// modes alternated each round; medians of the rounds (mean and p99 ms per request). Dataset
// build: the same spine and features built on and off, median wall time of the rounds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batchSource, compileProject, count, entity, featureService, featureView, field, mask, pii } from '../dist/definitions/index.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { materialize } from '../dist/processing/materialize.js';
import { openPlatform } from '../dist/platform.js';
import { buildDataset } from '../dist/serving/datasets/build-dataset.js';
import { createServer } from '../dist/serving/http/server.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const entities = opt('entities', 10_000);
const requests = opt('requests', 2_000);
const spineRows = opt('spine', 200_000);
const rounds = opt('rounds', 3);
const log = (line) => process.stderr.write(`${line}\n`);
const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const schema = { customer_id: 'string', email: 'string', phone: 'string', birth: 'timestamp', diagnosis: 'string', visits: 'int64', ts: 'timestamp' };
const specOf = (masked) => {
  const customers = batchSource({ name: 'customers', schema, timestamp: 'ts', ...(masked ? { classify: { email: pii('direct'), phone: pii('direct'), birth: pii('quasi'), diagnosis: pii('sensitive') } } : {}) });
  const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { email: field('email'), phone: field('phone'), birth: field('birth'), diagnosis: field('diagnosis'), visits: field('visits'), n: count() } });
  return { kind: 'project', name: 'bench', entities: [customer], sources: [customers], featureViews: [profile], featureServices: [featureService({ name: 'crm', features: [profile] })], ...(masked ? { masking: [mask({ role: '*', pii: 'quasi', with: 'year' })] } : {}) };
};

const root = mkdtempSync(join(tmpdir(), 'sluice-bench-masking-'));
const now = Date.parse('2026-11-28T12:00:00Z');
const key = (i) => `c${String(i).padStart(7, '0')}`;
const modes = [];
try {
  const csv = join(root, 'customers.csv');
  const lines = ['customer_id,email,phone,birth,diagnosis,visits,ts'];
  for (let i = 0; i < entities; i++) lines.push(`${key(i)},user${i}@example.com,+336${String(10_000_000 + i)},${1950 + (i % 60)}-0${1 + (i % 9)}-1${i % 10}T00:00:00Z,dx${i % 50},${i % 100},2026-11-0${1 + (i % 9)}T00:00:00Z`);
  writeFileSync(csv, `${lines.join('\n')}\n`);
  const spine = join(root, 'spine.csv');
  const spineLines = ['customer_id,ts'];
  for (let i = 0; i < spineRows; i++) spineLines.push(`${key((i * 7919) % entities)},2026-11-${String(10 + (i % 18)).padStart(2, '0')}T00:00:00Z`);
  writeFileSync(spine, `${spineLines.join('\n')}\n`);
  for (const name of ['off', 'on']) {
    const dir = join(root, name);
    const spec = specOf(name === 'on');
    const platform = openPlatform({ projectDir: dir, now: () => now, projectSpec: spec });
    const project = compileProject(spec);
    await platform.metadata.recordRegistry(project);
    await ingestFile(platform, project, 'customers', csv);
    await materialize(platform, project);
    modes.push({ name, dir, platform, project, app: await createServer(platform) });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = {};
  for (const size of [1, 100]) {
    const runs = Object.fromEntries(modes.map((m) => [m.name, []]));
    for (let round = 0; round <= rounds; round++) {
      for (let k = 0; k < modes.length; k++) {
        const m = modes[(round + k) % modes.length];
        const times = [];
        for (let r = 0; r < requests; r++) {
          const body = JSON.stringify({ service: 'crm', entities: { customer_id: Array.from({ length: size }, (_, i) => key((r * 131 + i * 7919) % entities)) } });
          const started = performance.now();
          const response = await m.app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json' }, payload: body });
          times.push(performance.now() - started);
          if (response.statusCode !== 200) throw new Error(response.body);
        }
        times.sort((a, b) => a - b);
        // Round 0 warms up both servers.
        if (round > 0) runs[m.name].push({ meanMs: times.reduce((a, b) => a + b, 0) / times.length, p99Ms: times[Math.floor(times.length * 0.99)] });
      }
    }
    const summary = Object.fromEntries(modes.map((m) => [m.name, { meanMs: Number(median(runs[m.name].map((r) => r.meanMs)).toFixed(4)), p99Ms: Number(median(runs[m.name].map((r) => r.p99Ms)).toFixed(4)) }]));
    results[`serving${size}`] = { ...summary, meanRatio: Number((summary.on.meanMs / summary.off.meanMs).toFixed(3)) };
    log(`serving ${size} entities: ${JSON.stringify(results[`serving${size}`])}`);
  }
  const builds = Object.fromEntries(modes.map((m) => [m.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < modes.length; k++) {
      const m = modes[(round + k) % modes.length];
      const started = performance.now();
      const manifest = await buildDataset(m.platform, m.project, { spine, service: 'crm', out: join(m.dir, `train-${round}.parquet`) });
      builds[m.name].push(performance.now() - started);
      if (round === 0) log(`build ${m.name}: masked ${JSON.stringify(manifest.masked ?? {})}`);
    }
  }
  const build = Object.fromEntries(modes.map((m) => [m.name, { ms: Math.round(median(builds[m.name])) }]));
  results.datasetBuild = { rows: spineRows, ...build, ratio: Number((build.on.ms / build.off.ms).toFixed(3)) };
  log(`dataset build: ${JSON.stringify(results.datasetBuild)}`);
  process.stdout.write(`${JSON.stringify({ commit: git('rev-parse', 'HEAD'), at: new Date().toISOString(), entities, requests, rounds, ...results }, null, 2)}\n`);
} finally {
  for (const m of modes) {
    await m.app.close();
    await m.platform.close();
  }
  rmSync(root, { recursive: true, force: true });
}
