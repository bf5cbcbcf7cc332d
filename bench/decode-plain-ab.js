// `node bench/decode-plain-ab.js A_CHECKOUT B_CHECKOUT [--rounds 10]`: CPU per event of `decodePlainEvents` on
// 1,000-event push bodies (as bench/push.js sends them), each checkout's built `dist/` loaded in this
// process, A and B alternating round by round (the first two rounds are warm-up). Prints median (min-max) µs per event.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const args = process.argv.slice(2);
const roundsArg = args.indexOf('--rounds');
const [baseDir, branchDir] = args.filter((_, i) => i !== roundsArg && i !== roundsArg + 1).map((d) => resolve(d));
const rounds = roundsArg < 0 ? 10 : Number(args[roundsArg + 1]);
const load = async (dir) => ({
  decode: (await import(pathToFileURL(`${dir}/dist/streaming/decode-plain.js`).href)).decodePlainEvents,
  project: (await import(pathToFileURL(`${dir}/dist/definitions/index.js`).href)),
});
const base = await load(baseDir); const branch = await load(branchDir);
const defs = base.project;
const account = defs.entity({ name: 'account', joinKey: 'account_id' });
const payments = defs.streamSource({ name: 'payments', timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h', schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' } });
const stats = defs.featureView({ name: 'payment_stats', entity: account, source: payments, features: { n: defs.count({ window: '10m' }) } });
const project = defs.compileProject(defs.defineProject({ name: 'b', entities: [account], sources: [payments], featureViews: [stats] }));
const source = project.sources[0];
const CH = ['card', 'web', 'pos', 'wire']; let seq = 0; const now = Date.now();
const body = (n) => { const t = []; for (let i = 0; i < n; i++) { const s = seq++; t.push(`{"payment_id":"p${s}","account_id":"a${(s * 2654435761) % 100000}","amount":${(s % 99991) / 100},"channel":"${CH[s & 3]}","ts":"${new Date(now - (s % 1800000)).toISOString()}"}`); } return `{"events":[${t.join(',')}]}`; };
const bodies = Array.from({ length: 100 }, () => body(1000));
const run = (d) => { const c0 = process.cpuUsage(); for (const b of bodies) if (d(project, source, [{ body: b }], now) === undefined) throw new Error('declined'); const c = process.cpuUsage(c0); return (c.user + c.system) / (bodies.length * 1000); };
const r = { base: [], branch: [] };
for (let round = 0; round < rounds; round++) for (const side of round % 2 ? ['branch', 'base'] : ['base', 'branch']) r[side].push(run(side === 'base' ? base.decode : branch.decode));
const fmt = (a) => { const s = a.slice(2).sort((x, y) => x - y); return `median ${s[Math.floor(s.length / 2)].toFixed(3)} (${s[0].toFixed(3)}-${s.at(-1).toFixed(3)}) us/event`; };
console.log(JSON.stringify({ base: fmt(r.base), branch: fmt(r.branch) }));
