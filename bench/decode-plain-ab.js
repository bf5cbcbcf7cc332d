// `node bench/decode-plain-ab.js A_CHECKOUT B_CHECKOUT [--rounds 10]`: CPU per event of `decodePlainEvents` on
// 1,000-event push bodies (as bench/push.js sends them), each checkout's built `dist/` loaded in this
// process, A and B alternating round by round (the first two rounds are warm-up). Prints median (min-max) µs per event.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { paymentsBodies } from './lib/payments-bodies.js';
const args = process.argv.slice(2);
const roundsArg = args.indexOf('--rounds');
const [baseDir, branchDir] = args.filter((_, i) => roundsArg < 0 || (i !== roundsArg && i !== roundsArg + 1)).map((d) => resolve(d));
const rounds = roundsArg < 0 ? 10 : Number(args[roundsArg + 1]);
const load = async (dir) => ({
  decode: (await import(pathToFileURL(`${dir}/dist/streaming/decode-plain.js`).href)).decodePlainEvents,
  project: (await import(pathToFileURL(`${dir}/dist/definitions/index.js`).href)),
});
const base = await load(baseDir); const branch = await load(branchDir);
const { project, source, now, bodies } = paymentsBodies(base.project, { bodies: 100 });
const run = (d) => { const c0 = process.cpuUsage(); for (const b of bodies) if (d(project, source, [{ body: b }], now) === undefined) throw new Error('declined'); const c = process.cpuUsage(c0); return (c.user + c.system) / (bodies.length * 1000); };
const r = { base: [], branch: [] };
for (let round = 0; round < rounds; round++) for (const side of round % 2 ? ['branch', 'base'] : ['base', 'branch']) r[side].push(run(side === 'base' ? base.decode : branch.decode));
const fmt = (a) => { const s = a.slice(2).sort((x, y) => x - y); return `median ${s[Math.floor(s.length / 2)].toFixed(3)} (${s[0].toFixed(3)}-${s.at(-1).toFixed(3)}) us/event`; };
console.log(JSON.stringify({ base: fmt(r.base), branch: fmt(r.branch) }));
