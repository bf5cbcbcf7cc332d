// `node bench/entity-keys-ab.js A_CHECKOUT B_CHECKOUT [--rounds 10]`: CPU per call of `entityKeyColumns` (the
// check of a request's entity keys, every serving request runs it once) for 1 and 100 entities, each
// checkout's built `dist/` loaded in this process, A and B alternating in balanced order (two warm-up rounds).
// Prints median (min-max) ns per request and the paired ratio B/A.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const args = process.argv.slice(2);
const roundsArg = args.indexOf('--rounds');
const [aDir, bDir] = args.filter((_, i) => roundsArg < 0 || (i !== roundsArg && i !== roundsArg + 1)).map((d) => resolve(d));
const rounds = roundsArg < 0 ? 10 : Number(args[roundsArg + 1]);
const load = async (dir) => (await import(pathToFileURL(`${dir}/dist/serving/online-features.js`).href)).entityKeyColumns;
const sides = { a: await load(aDir), b: await load(bDir) };
const CALLS = 2_000_000;
const request = (n) => ({ service: 'fraud', entities: Object.setPrototypeOf({ customer_id: Array.from({ length: n }, (_, i) => `c${i}`) }, null) });
for (const n of [1, 100]) {
  const req = request(n); const keys = ['customer_id'];
  const run = (f) => { const c0 = process.cpuUsage(); let s = 0; for (let i = 0; i < CALLS; i++) s += f(req, keys).length; const c = process.cpuUsage(c0); if (s !== CALLS) throw new Error('bad'); return ((c.user + c.system) * 1000) / CALLS; };
  const r = { a: [], b: [] };
  for (let round = 0; round < rounds; round++) for (const side of round % 2 ? ['b', 'a'] : ['a', 'b']) r[side].push(run(sides[side]));
  const fmt = (xs) => { const s = xs.slice(2).sort((x, y) => x - y); return `median ${s[Math.floor(s.length / 2)].toFixed(1)} (${s[0].toFixed(1)}-${s.at(-1).toFixed(1)}) ns`; };
  const ratios = r.b.slice(2).map((b, i) => b / r.a[i + 2]).sort((x, y) => x - y);
  console.log(JSON.stringify({ entities: n, a: fmt(r.a), b: fmt(r.b), pairedRatio: `median ${ratios[Math.floor(ratios.length / 2)].toFixed(3)} (${ratios[0].toFixed(3)}-${ratios.at(-1).toFixed(3)})` }));
}
