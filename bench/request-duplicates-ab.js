// `node bench/request-duplicates-ab.js [--rounds 10] [--events 500]` (after `npm run build`): CPU per event that
// settling duplicates before a request's checks adds to `decodeEvents` (markRequestDuplicates: the ids read out
// of DuckDB and looked up in the LMDB log, `EventLog.remembered`), for a source with an `eventId` and checks on
// a whole batch. Baseline in the same run: the same source and events without `eventId` (nothing to settle).
// The id column itself costs the decode something, so the same pair without checks is subtracted:
// added = (id+checks - checks) - (id - none). Every event is new (the log holds 20,000 other ids). Variants
// alternate round by round in rotating order (the first two rounds are warm-up); process CPU (DuckDB's thread
// and LMDB included). Prints medians in µs per event, the load average and the commit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEvents, sourceViews } from '../dist/streaming/decode-events.js';
import { duckDbEngine } from '../dist/storage/engine/duckdb-engine.js';
import { lmdbEventLog } from '../dist/storage/log/lmdb/index.js';
import * as defs from '../dist/definitions/index.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.indexOf(`--${name}`) < 0 ? fallback : Number(args[args.indexOf(`--${name}`) + 1]));
const rounds = opt('rounds', 10);
const perGroup = opt('events', 500);
const groups = 10;

const customer = defs.entity({ name: 'customer', joinKey: 'customer_id' });
const schema = { pid: 'string', customer_id: 'string', amt: 'float64', ts: 'timestamp' };
const checks = [defs.unique('customer_id', { severity: 'error' })];
const sources = {
  idChecked: defs.streamSource({ name: 'id_checked', schema, timestamp: 'ts', eventId: 'pid', allowedLateness: '1h', checks }),
  checked: defs.streamSource({ name: 'checked', schema, timestamp: 'ts', allowedLateness: '1h', checks }),
  id: defs.streamSource({ name: 'id', schema, timestamp: 'ts', eventId: 'pid', allowedLateness: '1h' }),
  none: defs.streamSource({ name: 'none', schema, timestamp: 'ts', allowedLateness: '1h' }),
};
const project = defs.compileProject(defs.defineProject({
  name: 'b', entities: [customer], sources: Object.values(sources),
  featureViews: Object.values(sources).map((s) => defs.featureView({ name: `n_${s.name}`, entity: customer, source: s, features: { n: defs.count() } })),
}));
const now = Date.now();
let seq = 0;
// Distinct customers, so the unique check passes and every event is accepted.
const event = () => {
  const s = seq++;
  return `{"pid":"p${s}","customer_id":"c${s}","amt":${(s % 9973) / 100},"ts":"${new Date(now - (s % 1800000)).toISOString()}"}`;
};
const bodies = Array.from({ length: groups }, () => [{ body: `{"events":[${Array.from({ length: perGroup }, event).join(',')}]}` }]);

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-dups-'));
const log = lmdbEventLog({ path: join(dir, 'log') });
for (let b = 0; b < 20; b++) await log.append('id_checked', { ackTime: now, origin: 'push', events: Array.from({ length: 1000 }, () => '{}'), ids: Array.from({ length: 1000 }, (_, i) => `old${b * 1000 + i}`), rejected: [] });
const engine = await duckDbEngine({ threads: 1, memoryLimit: '512MiB' });
const run = async (key) => {
  const source = project.sources.find((s) => s.name === sources[key].name);
  const views = sourceViews(project, source);
  const remembered = (ids) => log.remembered(source.name, ids, now);
  const c0 = process.cpuUsage();
  let accepted = 0;
  for (const parts of bodies) accepted += (await decodeEvents(engine, project, source, parts, now, true, views, undefined, remembered)).lines.length;
  const c = process.cpuUsage(c0);
  if (accepted !== groups * perGroup) throw new Error(`${key}: accepted ${accepted}`);
  return (c.user + c.system) / accepted;
};
const names = Object.keys(sources);
const r = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < rounds; round++) for (let k = 0; k < names.length; k++) { const n = names[(round + k) % names.length]; r[n].push(await run(n)); }
const med = (a) => { const s = a.slice(2).sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const added = r.idChecked.slice(2).map((_, i) => (r.idChecked[i + 2] - r.checked[i + 2]) - (r.id[i + 2] - r.none[i + 2])).sort((x, y) => x - y);
console.log(JSON.stringify({
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(), load: loadavg().map((l) => l.toFixed(2)).join(' '), perGroup, groups, rounds,
  usPerEvent: Object.fromEntries(names.map((n) => [n, med(r[n]).toFixed(2)])),
  addedBySettlingDuplicates: `median ${added[Math.floor(added.length / 2)].toFixed(2)} (${added[0].toFixed(2)} to ${added.at(-1).toFixed(2)}) us/event`,
  ratioIdCheckedToChecked: (med(r.idChecked) / med(r.checked)).toFixed(3),
}));
await engine.close();
await log.close();
rmSync(dir, { recursive: true, force: true });
