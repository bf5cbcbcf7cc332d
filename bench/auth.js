// `node bench/auth.js` (after `npm run build`): online serving with authentication, authorization
// and the audit of every access on, against auth off, in the same run, over copies of one store.
// Options:  --events N (200_000)  --entities N (10_000)  --seconds S (5, per load)  --rounds N (3)
// Two `sluice serve` processes: "off" (no key, no access rule: open on loopback) and "on" (an API
// key, access rules, every request authenticated, authorized per feature and audited through the
// group-committed buffer). Each is driven in turn by autocannon at 1 connection (latency p50/p99)
// and 16 connections (throughput), 1 and 100 entities per request, the order rotated each round;
// medians of the rounds. Also the audit records written per request (must be 1: nothing lost).
import { loadProject } from '../dist/config/load-project.js';
import { openPlatform } from '../dist/platform.js';
import { createApiKey } from '../dist/compliance/access/api-keys.js';
import { BENCH_CONFIG } from './bench-project.js';
import { benchCommit, benchKeys, benchOptions, log, median, stopServer, withBenchServers } from './lib/server-comparison.js';
import { load } from './serving.js';

const { events, entities, seconds, rounds } = benchOptions({ events: 200_000, entities: 10_000, seconds: 5, rounds: 3 });
const ACCESS_CONFIG = BENCH_CONFIG
  .replace("from 'sluice';", "from 'sluice';\nimport { allow, deny } from 'sluice';")
  .replace("featureServices: [featureService({ name: 'all', features: [txnStats, profile] })] });",
    "featureServices: [featureService({ name: 'all', features: [txnStats, profile] })],\n  access: [allow({ role: 'model', read: ['all'] }), deny({ role: 'analyst', read: ['profile:country'] }), allow({ role: 'ops', admin: ['status'] })] });");
const commit = benchCommit();
await withBenchServers({ prefix: 'sluice-bench-auth-', events, entities }, async ({ startServer }) => {
  const on = {
    name: 'on', headers: {},
    // The access rules are outside the value hash: the materialized tables keep serving.
    prepare: async (dir) => {
      const copy = openPlatform({ projectDir: dir });
      await copy.metadata.recordRegistry(await loadProject(dir));
      const { token } = await createApiKey(copy.metadata, { principal: 'bench-model', roles: ['model'] }, { name: 'cli:bench', roles: ['local-operator'], origin: 'local' }, Date.now());
      await copy.close();
      on.headers = { authorization: `Bearer ${token}` };
    },
  };
  const modes = [{ name: 'off', headers: {} }, on];
  for (const [i, mode] of modes.entries()) await startServer(mode, { port: 6721 + i, config: mode === on ? ACCESS_CONFIG : BENCH_CONFIG, args: ['--no-scheduler'] });
  const auditCount = async (mode) => {
    const p = openPlatform({ projectDir: mode.dir });
    try {
      return (await p.metadata.audit.head())?.seq ?? 0;
    } finally {
      await p.close();
    }
  };
  const results = {};
  let requestsOn = 0;
  const auditBefore = await auditCount(on);
  for (const count of [1, 100]) {
    const body = { service: 'all', entities: { customer_id: benchKeys(count, 17, entities) } };
    const runs = Object.fromEntries(modes.map((m) => [m.name, { latency: [], load: [] }]));
    for (const m of modes) {
      const warm = await load(m.server, m.url, body, 4, 1, m.headers);
      if (m === on) requestsOn += warm.requests;
    }
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < modes.length; k++) {
        const m = modes[(round + k) % modes.length];
        const latency = await load(m.server, m.url, body, 1, seconds, m.headers);
        const loaded = await load(m.server, m.url, body, 16, seconds, m.headers);
        if (m === on) requestsOn += latency.requests + loaded.requests;
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
  await stopServer(on.server);
  const audited = (await auditCount(on)) - auditBefore;
  process.stdout.write(`${JSON.stringify({ commit, at: new Date().toISOString(), events, entities, seconds, rounds, ...results, audit: { requests: requestsOn, records: audited } }, null, 2)}\n`);
});
