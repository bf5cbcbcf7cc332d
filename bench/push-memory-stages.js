// `node --expose-gc bench/push-memory-stages.js [--mib 27] [--checks]`: where a push body's memory
// goes, stage by stage, in this process (issue 6 §6): the body as bytes, as text, decoded (the
// plain path, or DuckDB with `--checks`), appended to the durable log. After each stage (its
// results still held, as the push path holds them until the answer), a full GC, then the heap in
// use (V8 heap and external buffers) and the resident set, each per body byte. Needs `npm run build`.
import { Buffer } from 'node:buffer';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../dist/config/load-project.js';
import { openPlatform } from '../dist/platform.js';
import { StreamDecoder } from '../dist/streaming/stream-decoder.js';
import { sourceViews } from '../dist/streaming/decode-events.js';
import { utf8Text } from '../dist/serving/http/utf8-json.js';
import { CHECKED_STREAM_CONFIG, STREAM_CONFIG } from './stream-project.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const mib = Number(args[args.indexOf('--mib') + 1] ?? 27) || 27;
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const work = join(here, '.work', `push-memory-stages-${process.pid}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeFileSync(join(work, 'sluice.config.ts'), args.includes('--checks') ? CHECKED_STREAM_CONFIG : STREAM_CONFIG);
const platform = openPlatform({ projectDir: work });
const project = await loadProject(work);
const source = project.sources.find((s) => s.name === 'payments');
const engine = await platform.newEngine(1);
const eventLog = await platform.log();

const now = Date.now();
const texts = [];
for (let s = 0, length = 13; length < mib * 2 ** 20; s++) {
  texts.push(`{"payment_id":"m${s}","account_id":"a${(s * 2_654_435_761) % 100_000}","amount":${(s % 99_991) / 100},"channel":"card","ts":"${new Date(now - (s % 1_800_000)).toISOString()}"}`);
  length += texts.at(-1).length + 1;
}
const wire = Buffer.from(`{"events":[${texts.join(',')}]}`);
texts.length = 0;
const bytes = wire.length;

const rows = [];
let last = { heap: 0, rss: 0 };
const measure = (stage) => {
  globalThis.gc();
  const m = process.memoryUsage();
  const now = { heap: m.heapUsed + m.external, rss: m.rss };
  rows.push({ stage, heapPerByte: Number(((now.heap - last.heap) / bytes).toFixed(2)), rssPerByte: Number(((now.rss - last.rss) / bytes).toFixed(2)), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) });
  last = now;
};
globalThis.gc();
const base = process.memoryUsage();
last = { heap: base.heapUsed + base.external - bytes, rss: base.rss - bytes };
measure('body bytes (one Buffer)');
const body = utf8Text(wire);
measure('body text');
const decoder = new StreamDecoder(engine, undefined, (name, ids, at) => eventLog.remembered(name, ids, at));
const decoded = await decoder.decodeGroup(project, source, [{ body }], now, sourceViews(project, source), () => undefined);
measure(`decoded (${decoded.columns.size} columns, ${decoded.raws.length} events)`);
await eventLog.append(source.name, { ackTime: now, origin: 'push', events: decoded.raws, ids: decoded.ids, rejected: decoded.rejected });
measure('appended to the log');
process.stdout.write(`${JSON.stringify({ bodyMiB: Number((bytes / 2 ** 20).toFixed(1)), path: args.includes('--checks') ? 'duckdb' : 'plain', stages: rows }, null, 2)}\n`);
void [wire, body, decoded];
await eventLog.close();
await engine.close();
await platform.close();
rmSync(work, { recursive: true, force: true });
