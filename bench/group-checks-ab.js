// `node bench/group-checks-ab.js [--rounds 12] [--requests 8] [--events 100]` (after `npm run build`): CPU per
// event of `decodeEvents` on a group of several push requests when the source has checks on a whole batch
// (unique error, rowCount warn, a `mostly` warn row check: the group is evaluated once; `strict` adds a `mostly`
// error check, so each request is evaluated alone too), against the same events handed in as one request (one evaluation), and the same
// pair for the source without checks (what splitting the events into requests costs the decode itself).
// The cost of judging each request alone is (checked, N requests - checked, 1 request) - (plain, N - plain, 1).
// Variants alternate round by round in rotating order (the first two rounds are warm-up); process CPU
// (DuckDB's thread included). Prints medians in µs per event and the commit.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { decodeEvents, sourceViews } from '../dist/streaming/decode-events.js';
import { duckDbEngine } from '../dist/storage/engine/duckdb-engine.js';
import * as defs from '../dist/definitions/index.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.indexOf(`--${name}`) < 0 ? fallback : Number(args[args.indexOf(`--${name}`) + 1]));
const rounds = opt('rounds', 12);
const requests = opt('requests', 8);
const perRequest = opt('events', 100);
const groups = 20;

const account = defs.entity({ name: 'account', joinKey: 'account_id' });
const schema = { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' };
const common = { timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h', schema };
const checked = defs.streamSource({ name: 'checked', ...common, checks: [defs.unique('payment_id', { severity: 'error' }), defs.rowCount({ max: 100_000 }), defs.range('amount', { min: 0, mostly: 0.99 })] });
// A `mostly` error check: a group can pass it while a request fails, so each request is judged alone.
const strict = defs.streamSource({ name: 'strict', ...common, checks: [defs.unique('payment_id', { severity: 'error' }), defs.range('amount', { min: 0, mostly: 0.99, severity: 'error' })] });
const plain = defs.streamSource({ name: 'plain', ...common });
const project = defs.compileProject(defs.defineProject({
  name: 'b', entities: [account], sources: [checked, strict, plain],
  featureViews: [checked, strict, plain].map((s) => defs.featureView({ name: `n_${s.name}`, entity: account, source: s, features: { n: defs.count({ window: '10m' }) } })),
}));
const now = Date.now();
let seq = 0;
const event = () => {
  const s = seq++;
  return `{"payment_id":"p${s}","account_id":"a${(s * 2654435761) % 100000}","amount":${(s % 99991) / 100},"channel":"web","ts":"${new Date(now - (s % 1800000)).toISOString()}"}`;
};
const body = (texts) => `{"events":[${texts.join(',')}]}`;
// The same events as N requests or as one.
const events = Array.from({ length: groups }, () => Array.from({ length: requests }, () => Array.from({ length: perRequest }, event)));
const asRequests = events.map((g) => g.map((r) => ({ body: body(r) })));
const asOne = events.map((g) => [{ body: body(g.flat()) }]);

const engine = await duckDbEngine({ threads: 1, memoryLimit: '512MiB' });
const run = async (sourceName, parts) => {
  const source = project.sources.find((s) => s.name === sourceName);
  const views = sourceViews(project, source);
  const c0 = process.cpuUsage();
  let accepted = 0;
  for (const group of parts) accepted += (await decodeEvents(engine, project, source, group, now, true, views)).lines.length;
  const c = process.cpuUsage(c0);
  if (accepted !== groups * requests * perRequest) throw new Error(`${sourceName}: accepted ${accepted}`);
  return (c.user + c.system) / accepted;
};
const variants = { checkedN: () => run('checked', asRequests), checked1: () => run('checked', asOne), strictN: () => run('strict', asRequests), strict1: () => run('strict', asOne), plainN: () => run('plain', asRequests), plain1: () => run('plain', asOne) };
const names = Object.keys(variants);
const r = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < rounds; round++) for (let k = 0; k < names.length; k++) { const n = names[(round + k) % names.length]; r[n].push(await variants[n]()); }
const med = (a) => { const s = a.slice(2).sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const added = (side) => r[`${side}N`].slice(2).map((_, i) => (r[`${side}N`][i + 2] - r[`${side}1`][i + 2]) - (r.plainN[i + 2] - r.plain1[i + 2])).sort((x, y) => x - y);
const show = (a) => `median ${a[Math.floor(a.length / 2)].toFixed(2)} (${a[0].toFixed(2)} to ${a.at(-1).toFixed(2)}) us/event`;
console.log(JSON.stringify({
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(), load: loadavg().map((l) => l.toFixed(2)).join(' '), requests, perRequest,
  usPerEvent: Object.fromEntries(names.map((n) => [n, med(r[n]).toFixed(2)])),
  addedByRequests: { checked: show(added('checked')), strict: show(added('strict')) },
}));
await engine.close();
