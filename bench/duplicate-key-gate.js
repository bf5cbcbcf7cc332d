// `taskset -c 1 node bench/duplicate-key-gate.js [--lines 200000] [--rounds 8]`: what the duplicate-key rule's
// gate costs per event text, in DuckDB (the kept SQL gate: `contains(_raw, '\')` or one regex finding a
// column's quoted name twice) against a JavaScript gate on the same texts (no backslash, and for each column
// `indexOf` of its quoted name, then a second `indexOf` after the first hit). Texts: the payments events
// (5 columns), spaced, one per line, as JSONL ingest and connector texts reach the rule. DuckDB side: CPU of
// the gated count minus a plain count over the same table (1 thread); JS side: CPU of the loop. Rounds
// alternate; the first two are warm-up. Both sides must flag the same number of texts.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { paymentsBodies } from './lib/payments-bodies.js';
const arg = (name, d) => { const i = process.argv.indexOf(name); return i < 0 ? d : Number(process.argv[i + 1]); };
const lines = arg('--lines', 200_000); const rounds = arg('--rounds', 8);
const dist = (p) => import(pathToFileURL(resolve(import.meta.dirname, '..', 'dist', p)).href);
const { project, source } = paymentsBodies(await dist('definitions/index.js'), { bodies: Math.ceil(lines / 1000), spaced: true });
const columns = Object.keys(source.schema);
const texts = [];
for (const b of paymentsBodies(await dist('definitions/index.js'), { bodies: Math.ceil(lines / 1000), spaced: true }).bodies) {
  for (const e of b.slice(b.indexOf('[') + 1, -2).split('}, {')) texts.push(e.startsWith('{') ? (e.endsWith('}') ? e : `${e}}`) : `{${e.endsWith('}') ? e : `${e}}`}`);
}
texts.length = lines;
// A few texts with a key twice and one with an escape, so both sides flag something.
for (let i = 0; i < lines; i += 10_007) texts[i] = texts[i].replace('}', ', "amount": 1}');
texts[5] = texts[5].replace('"channel"', '"chann\\u0065l"');
void project;
const engine = await (await dist('storage/engine/duckdb-engine.js')).duckDbEngine({ threads: 1, memoryLimit: '1GiB' });
await engine.run('CREATE TABLE t (_raw VARCHAR)');
await engine.appendColumns('t', [{ type: 'text', values: texts }]);
// Per batch of 1,000 texts joined by line breaks (as JSONL ingest hands them to DuckDB): one regex over the batch
// with [^\n] in place of [\s\S] says whether any of its texts needs the per-text gate.
await engine.run('CREATE TABLE b (_raws VARCHAR)');
const batches = [];
for (let i = 0; i < texts.length; i += 1000) batches.push(texts.slice(i, i + 1000).join('\n'));
await engine.appendColumns('b', [{ type: 'text', values: batches }]);
const quoted = columns.map((c) => `"${c}"`);
const twice = quoted.map((q) => { const e = q.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&'); return `${e}[\\s\\S]*${e}`; }).join('|');
const twiceInLine = quoted.map((q) => { const e = q.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&'); return `${e}[^\\n]*${e}`; }).join('|');
const lit = (s) => `'${s.replaceAll("'", "''")}'`;
const cpu = async (f) => { const c0 = process.cpuUsage(); const n = await f(); const c = process.cpuUsage(c0); return { us: c.user + c.system, n }; };
const sqlGate = async () => {
  const plain = await cpu(async () => Number((await engine.all('SELECT count(*)::INTEGER AS n FROM t WHERE length(_raw) > 0'))[0].n));
  const gated = await cpu(async () => Number((await engine.all(`SELECT count(*)::INTEGER AS n FROM t WHERE contains(_raw, '\\') OR regexp_matches(_raw, ${lit(twice)})`))[0].n));
  return { us: gated.us - plain.us, n: gated.n };
};
const batchGate = async () => {
  const plain = await cpu(async () => Number((await engine.all('SELECT count(*)::INTEGER AS n FROM b WHERE length(_raws) > 0'))[0].n));
  const gated = await cpu(async () => Number((await engine.all(`SELECT count(*)::INTEGER AS n FROM b WHERE contains(_raws, '\\') OR regexp_matches(_raws, ${lit(twiceInLine)})`))[0].n));
  return { us: gated.us - plain.us, n: gated.n };
};
const jsGate = async () => cpu(async () => {
  let n = 0;
  for (const raw of texts) {
    let flagged = raw.includes('\\');
    for (let c = 0; !flagged && c < quoted.length; c++) { const at = raw.indexOf(quoted[c]); flagged = at >= 0 && raw.indexOf(quoted[c], at + quoted[c].length) >= 0; }
    if (flagged) n++;
  }
  return n;
});
const r = { sql: [], js: [], batch: [] };
for (let round = 0; round < rounds; round++) {
  for (const side of round % 2 ? ['batch', 'js', 'sql'] : ['sql', 'js', 'batch']) {
    const { us, n } = await (side === 'sql' ? sqlGate() : side === 'js' ? jsGate() : batchGate());
    r[side].push({ us, n });
  }
}
const counts = new Set([...r.sql, ...r.js].map((x) => x.n));
// Batches flagged: those holding a flagged text (then each of its texts goes through the per-text gate).
const batchesFlagged = new Set(r.batch.map((x) => x.n));
if (counts.size !== 1) throw new Error(`the gates flag different texts: ${[...counts]}`);
const fmt = (a) => { const s = a.slice(2).map((x) => (x.us * 1000) / lines).sort((x, y) => x - y); return `median ${s[Math.floor(s.length / 2)].toFixed(0)} (${s[0].toFixed(0)}-${s.at(-1).toFixed(0)}) ns/text`; };
console.log(JSON.stringify({ lines, flagged: [...counts][0], sqlGate: fmt(r.sql), jsGate: fmt(r.js), batchGate: fmt(r.batch), batchesFlagged: [...batchesFlagged], raw: r }));
await engine.close();
