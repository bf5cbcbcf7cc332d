// `node bench/decode-duckdb-ab.js A_CHECKOUT B_CHECKOUT [--rounds 10]`: CPU per event of `decodeEvents` (the
// DuckDB path: push bodies the plain path declines, connector texts, and the SQL JSONL ingest shares) on
// 1,000-event push bodies written with spaces, each checkout's built `dist/` loaded in this process with an
// engine of its own (1 thread), A and B alternating round by round in balanced order (the first two rounds
// are warm-up). Prints median (min-max) µs per event, process CPU (DuckDB's thread included), and checks
// that both sides decode the same events.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { paymentsBodies } from './lib/payments-bodies.js';
const args = process.argv.slice(2);
const roundsArg = args.indexOf('--rounds');
const [baseDir, branchDir] = args.filter((_, i) => roundsArg < 0 || (i !== roundsArg && i !== roundsArg + 1)).map((d) => resolve(d));
const rounds = roundsArg < 0 ? 10 : Number(args[roundsArg + 1]);
const load = async (dir) => {
  const mod = (p) => import(pathToFileURL(`${dir}/dist/${p}`).href);
  const { decodeEvents, sourceViews } = await mod('streaming/decode-events.js');
  const engine = await (await mod('storage/engine/duckdb-engine.js')).duckDbEngine({ threads: 1, memoryLimit: '512MiB' });
  return { decodeEvents, sourceViews, engine };
};
const base = await load(baseDir); const branch = await load(branchDir);
const { project, source, now, bodies } = paymentsBodies(await import(pathToFileURL(`${baseDir}/dist/definitions/index.js`).href), { bodies: 20, spaced: true });
const run = async (side) => {
  const c0 = process.cpuUsage();
  let accepted = 0;
  for (const b of bodies) accepted += (await side.decodeEvents(side.engine, project, source, [{ body: b }], now, true, side.sourceViews(project, source))).lines.length;
  const c = process.cpuUsage(c0);
  if (accepted !== bodies.length * 1000) throw new Error(`accepted ${accepted}`);
  return (c.user + c.system) / (bodies.length * 1000);
};
const r = { base: [], branch: [] };
for (let round = 0; round < rounds; round++) for (const name of round % 2 ? ['branch', 'base'] : ['base', 'branch']) r[name].push(await run(name === 'base' ? base : branch));
const fmt = (a) => { const s = a.slice(2).sort((x, y) => x - y); return `median ${s[Math.floor(s.length / 2)].toFixed(3)} (${s[0].toFixed(3)}-${s.at(-1).toFixed(3)}) us/event`; };
const ratios = r.branch.slice(2).map((b, i) => b / r.base[i + 2]).sort((x, y) => x - y);
console.log(JSON.stringify({ base: fmt(r.base), branch: fmt(r.branch), pairedRatio: `median ${ratios[Math.floor(ratios.length / 2)].toFixed(3)} (${ratios[0].toFixed(3)}-${ratios.at(-1).toFixed(3)})` }));
await base.engine.close(); await branch.engine.close();
