// `node bench/jetstream-decode-ab.js A_CHECKOUT B_CHECKOUT [--rounds 12] [--groups 20]`: CPU per event of
// decoding JetStream messages as the stream processor does (`StreamDecoder.decodeGroup` of a 1,000-message
// `texts` part), each checkout's built `dist/` loaded in this process with an engine of its own (1 thread),
// A and B alternating round by round in balanced order (the first two rounds are warm-up). Two sources:
// `plain` (strings, float64, timestamps: the plain path decodes the group in JavaScript) and `duckdb` (an
// int64 column: the group is decoded in DuckDB). Prints median (min-max) us per event per side, the
// paired ratio B/A, the commits and the load average, and checks both sides accept every event.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const dirs = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')).map((d) => resolve(d));
if (dirs.length !== 2) throw new Error('usage: node bench/jetstream-decode-ab.js A_CHECKOUT B_CHECKOUT [--rounds 12] [--groups 20]');
const rounds = flag('rounds', 12);
const groups = flag('groups', 20);
const GROUP = 1_000;

const load = async (dir) => {
  const mod = (p) => import(pathToFileURL(`${dir}/dist/${p}`).href);
  const { StreamDecoder } = await mod('streaming/stream-decoder.js');
  const engine = await (await mod('storage/engine/duckdb-engine.js')).duckDbEngine({ threads: 1, memoryLimit: '512MiB' });
  return { decoder: new StreamDecoder(engine, undefined), engine };
};
const sides = { A: await load(dirs[0]), B: await load(dirs[1]) };

const defs = await import(pathToFileURL(`${dirs[0]}/dist/definitions/index.js`).href);
const account = defs.entity({ name: 'account', joinKey: 'account_id' });
const schemas = {
  plain: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' },
  duckdb: { payment_id: 'string', account_id: 'string', amount: 'float64', qty: 'int64', channel: 'string', ts: 'timestamp' },
};
const sources = Object.entries(schemas).map(([name, schema]) => defs.streamSource({ name, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h', schema }));
const views = sources.map((s) => defs.featureView({ name: `${s.name}_n`, entity: account, source: s, features: { n: defs.count({ window: '10m' }) } }));
const project = defs.compileProject(defs.defineProject({ name: 'b', entities: [account], sources, featureViews: views }));
const now = Date.now();
const CH = ['card', 'web', 'pos', 'wire'];
let seq = 0;
// Messages as a publisher writes them (JSON.stringify: the plain path's texts).
const message = (withQty) => {
  const s = seq++;
  return JSON.stringify({ payment_id: `p${s}`, account_id: `a${(s * 2654435761) % 100000}`, amount: (s % 99991) / 100, ...(withQty ? { qty: s % 17 } : {}), channel: CH[s & 3], ts: new Date(now - (s % 1_800_000)).toISOString() });
};
const texts = Object.fromEntries(Object.keys(schemas).map((name) => [name, Array.from({ length: groups }, () => Array.from({ length: GROUP }, () => message(name === 'duckdb')))]));

const run = async (side, name) => {
  const source = project.sources.find((s) => s.name === name);
  const v = project.featureViews.filter((f) => f.source === name);
  const c0 = process.cpuUsage();
  let accepted = 0;
  for (const group of texts[name]) {
    const at = group.map((_, i) => `stream sequence ${i + 1}`);
    accepted += (await side.decoder.decodeGroup(project, source, [{ texts: group, upstream: { at } }], now, v, () => undefined)).lines.length;
  }
  const c = process.cpuUsage(c0);
  if (accepted !== groups * GROUP) throw new Error(`${name}: accepted ${accepted} of ${groups * GROUP}`);
  return (c.user + c.system) / (groups * GROUP);
};

const commit = (dir) => execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const loadStart = loadavg()[0].toFixed(2);
const out = {};
for (const name of Object.keys(schemas)) {
  const r = { A: [], B: [] };
  for (let round = 0; round < rounds; round++) for (const s of round % 2 ? ['B', 'A'] : ['A', 'B']) r[s].push(await run(sides[s], name));
  const fmt = (a) => {
    const s = a.slice(2).sort((x, y) => x - y);
    return `median ${s[Math.floor(s.length / 2)].toFixed(3)} (${s[0].toFixed(3)}-${s.at(-1).toFixed(3)}) us/event`;
  };
  const ratios = r.B.slice(2).map((b, i) => b / r.A[i + 2]).sort((x, y) => x - y);
  out[name] = { A: fmt(r.A), B: fmt(r.B), pairedRatio: `median ${ratios[Math.floor(ratios.length / 2)].toFixed(3)} (${ratios[0].toFixed(3)}-${ratios.at(-1).toFixed(3)})`, rawA: r.A, rawB: r.B };
}
const commitOf = (dir) => {
  try {
    return commit(dir);
  } catch {
    return 'not a git checkout (see BENCHMARKS.md)';
  }
};
const commits = { A: commitOf(dirs[0]), B: commitOf(dirs[1]) };
console.log(JSON.stringify({ commits, rounds, groups, eventsPerGroup: GROUP, loadStart, loadEnd: loadavg()[0].toFixed(2), ...out }));
await sides.A.engine.close();
await sides.B.engine.close();
